"""What `kpr-site serve` keeps between runs, so that a save redoes only what it affects.

A run of the recipe with a Memory (build.run) takes over every result whose inputs are the
very same objects as in the run before, and records its own results for the next:

* load: a content file whose stat is unchanged keeps its item (load.FileMemo); the item is
  then the same object as before, and so is its Source;
* convert: a body whose Source is the same object keeps its conversion;
* links: a body keeps its resolved links while everything links resolve against — the
  pages' URLs, photos, documents, scheduled items, the folders' entries — is equal;
* page keys: the fingerprint of a record seen before is looked up, not computed again;
* output: only pages whose key changed are rendered and written (build.MemorySink).

Nothing is trusted on a signature alone except a file's stat; everything else is compared
by value or by identity of frozen records.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kpr_site.bodies import ConvertedBodies, Resolved
from kpr_site.cache import Fingerprint, PackFolder
from kpr_site.errors import SiteError
from kpr_site.load import FileMemo
from kpr_site.model import Source
from kpr_site.placeholders import MarkerMemo

__all__ = ["Memory"]


@dataclass
class Memory:
    """One preview's results of its last run (mutable: each run replaces them)."""

    files: FileMemo = field(default_factory=FileMemo)
    sources: Mapping[str, Source] = field(default_factory=dict)
    """The sources the bodies below were converted from."""
    bodies: ConvertedBodies | None = None
    links: object = None
    """Everything the bodies' links were resolved against (compared by value)."""
    resolved: Mapping[str, Resolved] = field(default_factory=dict)
    """Each body with its links resolved and the errors that found, by source path."""
    packs: PackFolder | None = None
    """The Markdown cache's packs, with those read so far (bodies are read when shown)."""
    fingerprint: Fingerprint = field(default_factory=Fingerprint)
    markers: MarkerMemo = field(default_factory=dict)
    """Placeholders counted in each record of the model."""
    unused: tuple[object, list[SiteError]] | None = None
    """The warnings about unused files, with what they were found from."""

    def next_fingerprint(self) -> Fingerprint:
        """A fingerprint for this run that knows the records the last run walked."""
        self.fingerprint = Fingerprint(self.fingerprint)
        return self.fingerprint
