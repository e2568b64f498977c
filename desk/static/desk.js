/* housedesk desk: Telegram theme colours, Mini App sign-in, and live refresh. No framework. */
"use strict";

(function () {
  var THEME_KEY = "housedesk-theme";
  var VARS = {
    bg_color: "--bg", text_color: "--text", hint_color: "--hint", link_color: "--link",
    button_color: "--button", button_text_color: "--button-text",
    secondary_bg_color: "--secondary-bg"
  };

  function fragment() {
    var params = new URLSearchParams(window.location.hash.slice(1));
    return {
      initData: params.get("tgWebAppData"),
      theme: params.get("tgWebAppThemeParams")
    };
  }

  function applyTheme() {
    var theme = fragment().theme;
    if (theme) {
      sessionStorage.setItem(THEME_KEY, theme);
    } else {
      theme = sessionStorage.getItem(THEME_KEY);
    }
    if (!theme) { return; }
    var colours;
    try { colours = JSON.parse(theme); } catch (e) { return; }
    Object.keys(VARS).forEach(function (key) {
      if (typeof colours[key] === "string" && /^#[0-9a-fA-F]{3,8}$/.test(colours[key])) {
        document.documentElement.style.setProperty(VARS[key], colours[key]);
      }
    });
  }

  function signInWithLaunchData() {
    var box = document.getElementById("launch-signin");
    if (!box) { return; }
    var initData = fragment().initData;
    if (!initData) { box.hidden = true; return; }
    document.getElementById("link-help").hidden = true;
    fetch(box.dataset.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ init_data: initData })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (response.ok) {
          window.location.replace(body.next);
        } else {
          box.textContent = body.error;
          box.classList.add("refused");
        }
      });
    });
  }

  function liveRefresh() {
    var root = document.querySelector("[data-poll]");
    if (!root) { return; }
    var url = root.dataset.poll;
    var stamp = root.dataset.stamp;
    var busy = false;
    window.setInterval(function () {
      if (busy || document.hidden) { return; }
      busy = true;
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (response) { return response.json(); })
        .then(function (body) {
          var now = String(body.stamp);
          if (now === stamp) { return null; }
          stamp = now;
          return fetch(window.location.href, { credentials: "same-origin" })
            .then(function (response) { return response.text(); })
            .then(function (html) {
              var fresh = new DOMParser().parseFromString(html, "text/html");
              var main = fresh.querySelector("main");
              if (main) {
                document.querySelector("main").replaceWith(main);
                document.body.dataset.refreshed = stamp;
              }
            });
        })
        .catch(function () { /* the next round tries again */ })
        .then(function () { busy = false; });
    }, Number(root.dataset.every || 3000));
  }

  applyTheme();
  document.addEventListener("DOMContentLoaded", function () {
    signInWithLaunchData();
    liveRefresh();
  });
})();
