/*
 * kpr-site – Bildansicht für Fotoalben (progressive Verbesserung).
 *
 * Ohne JavaScript führt jedes Vorschaubild auf das große Foto. Mit JavaScript öffnet ein Klick
 * einen modalen <dialog>: ←/→ blättern (auch Wischen auf Touch-Geräten), Esc schließt, der
 * Fokus bleibt im Dialog und kehrt beim Schließen zum Vorschaubild zurück. Bildunterschrift
 * und Urheberangabe werden mit angezeigt. Keine fremden Dienste, keine Cookies.
 */
(function () {
  "use strict";

  var SWIPE_PX = 50;

  function ready(fn) {
    if (document.readyState === "loading") {
      document.addEventListener("DOMContentLoaded", fn);
    } else {
      fn();
    }
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text) {
      node.textContent = text;
    }
    return node;
  }

  function button(className, label) {
    var node = element("button", "lightbox__button " + className, label);
    node.type = "button";
    return node;
  }

  /* One item per thumbnail link: what the dialog shows for it. */
  function describe(link) {
    var figure = link.closest("figure");
    var thumb = link.querySelector("img");
    var text = figure && figure.querySelector(".gallery__text");
    var credit = figure && figure.querySelector(".gallery__credit");
    return {
      link: link,
      href: link.getAttribute("href"),
      srcset: link.getAttribute("data-srcset") || "",
      width: link.getAttribute("data-width"),
      height: link.getAttribute("data-height"),
      alt: thumb ? thumb.getAttribute("alt") || "" : "",
      caption: text ? text.textContent : "",
      credit: credit ? credit.textContent : ""
    };
  }

  function Lightbox(items) {
    this.items = items;
    this.index = 0;
    this.opener = null;
    this.build();
  }

  Lightbox.prototype.build = function () {
    var self = this;
    var dialog = element("dialog", "lightbox");
    dialog.setAttribute("aria-label", "Bildansicht");
    var frame = element("div", "lightbox__frame");
    this.close = button("lightbox__close", "Schließen");
    var figure = element("figure", "lightbox__figure");
    this.image = element("img", "lightbox__image");
    this.image.setAttribute("sizes", "100vw");
    var caption = element("figcaption", "lightbox__caption");
    this.text = element("span", "lightbox__text");
    this.credit = element("span", "lightbox__credit");
    this.count = element("span", "lightbox__count");
    this.count.setAttribute("aria-live", "polite");
    caption.append(this.text, this.credit, this.count);
    figure.append(this.image, caption);
    var controls = element("div", "lightbox__controls");
    this.prev = button("lightbox__prev", "‹ Vorheriges Foto");
    this.next = button("lightbox__next", "Nächstes Foto ›");
    controls.append(this.prev, this.next);
    frame.append(this.close, figure, controls);
    dialog.append(frame);
    document.body.append(dialog);
    this.dialog = dialog;

    this.close.addEventListener("click", function () { dialog.close(); });
    this.prev.addEventListener("click", function () { self.step(-1); });
    this.next.addEventListener("click", function () { self.step(1); });
    dialog.addEventListener("keydown", function (event) { self.onKey(event); });
    dialog.addEventListener("close", function () { self.onClose(); });
    /* A click on the dark area around the frame closes, as users expect. */
    dialog.addEventListener("click", function (event) {
      if (event.target === dialog) {
        dialog.close();
      }
    });
    this.watchSwipes(figure);
  };

  Lightbox.prototype.open = function (index) {
    this.opener = this.items[index].link;
    this.show(index);
    this.dialog.showModal();
    this.close.focus();
  };

  Lightbox.prototype.show = function (index) {
    var count = this.items.length;
    this.index = (index + count) % count;
    var item = this.items[this.index];
    var image = this.image;
    image.removeAttribute("srcset");
    image.setAttribute("src", item.href);
    if (item.srcset) {
      image.setAttribute("srcset", item.srcset);
    }
    image.setAttribute("alt", item.alt);
    if (item.width && item.height) {
      image.setAttribute("width", item.width);
      image.setAttribute("height", item.height);
    }
    this.text.textContent = item.caption;
    this.credit.textContent = item.credit;
    this.count.textContent = "Foto " + (this.index + 1) + " von " + count;
    var single = count < 2;
    this.prev.hidden = single;
    this.next.hidden = single;
  };

  Lightbox.prototype.step = function (delta) {
    this.show(this.index + delta);
  };

  Lightbox.prototype.onKey = function (event) {
    if (event.key === "ArrowLeft") {
      event.preventDefault();
      this.step(-1);
    } else if (event.key === "ArrowRight") {
      event.preventDefault();
      this.step(1);
    } else if (event.key === "Tab") {
      this.keepFocus(event);
    }
    /* Esc: the dialog's own "cancel" closes it. */
  };

  /* A modal dialog makes the page inert; this also keeps Tab from leaving for the browser UI. */
  Lightbox.prototype.keepFocus = function (event) {
    var focusable = [this.close, this.prev, this.next].filter(function (node) {
      return !node.hidden;
    });
    var first = focusable[0];
    var last = focusable[focusable.length - 1];
    if (event.shiftKey && document.activeElement === first) {
      event.preventDefault();
      last.focus();
    } else if (!event.shiftKey && document.activeElement === last) {
      event.preventDefault();
      first.focus();
    }
  };

  Lightbox.prototype.onClose = function () {
    this.image.removeAttribute("srcset");
    this.image.removeAttribute("src");
    if (this.opener) {
      this.opener.focus();
    }
  };

  Lightbox.prototype.watchSwipes = function (area) {
    var self = this;
    var start = null;
    area.addEventListener("pointerdown", function (event) {
      start = event.pointerType === "mouse" ? null : { x: event.clientX, y: event.clientY };
    });
    area.addEventListener("pointerup", function (event) {
      if (!start) {
        return;
      }
      var dx = event.clientX - start.x;
      var dy = event.clientY - start.y;
      start = null;
      if (Math.abs(dx) > SWIPE_PX && Math.abs(dx) > Math.abs(dy)) {
        self.step(dx < 0 ? 1 : -1);
      }
    });
    area.addEventListener("pointercancel", function () { start = null; });
  };

  ready(function () {
    if (typeof HTMLDialogElement !== "function") {
      return; /* old browser: the links to the large photos keep working */
    }
    var galleries = document.querySelectorAll("[data-lightbox]");
    Array.prototype.forEach.call(galleries, function (gallery) {
      var links = Array.prototype.slice.call(gallery.querySelectorAll("a.gallery__link"));
      if (!links.length) {
        return;
      }
      var box = new Lightbox(links.map(describe));
      links.forEach(function (link, index) {
        link.addEventListener("click", function (event) {
          if (event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) {
            return; /* open in a new tab or window as the user asked */
          }
          event.preventDefault();
          box.open(index);
        });
      });
    });
  });
})();
