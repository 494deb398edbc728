// Layer editors: add, remove and reorder the rows of the restrictions and participants fields.
// Without this script the rows are still a plain form (a blank restriction row is always there).
"use strict";
(function () {
  function rowsOf(container) {
    return Array.prototype.filter.call(
      container.querySelector(".piquet-row-list").children,
      function (el) { return el.classList.contains("piquet-row"); }
    );
  }

  function renumber(container) {
    rowsOf(container).forEach(function (row, index) {
      var number = row.querySelector(".piquet-row-number");
      if (number) { number.textContent = (index + 1) + "."; }
    });
  }

  function show(container) {
    container.querySelectorAll("button[hidden]").forEach(function (button) {
      if (!button.closest(".piquet-row-template")) { button.hidden = false; }
    });
  }

  function addRow(container) {
    var template = container.querySelector(".piquet-row-template");
    var row = template.cloneNode(true);
    var base = container.id.replace(/^id_/, "");
    row.classList.remove("piquet-row-template");
    row.hidden = false;
    row.querySelectorAll("button[hidden]").forEach(function (button) { button.hidden = false; });
    row.querySelectorAll("[data-suffix]").forEach(function (input) {
      input.name = base + input.getAttribute("data-suffix");
    });
    container.querySelector(".piquet-row-list").appendChild(row);
    var select = row.querySelector("select[data-piquet-autocomplete]");
    if (select) {
      select.appendChild(document.createElement("option"));
      select.classList.add("admin-autocomplete");
      if (window.django && django.jQuery && django.jQuery.fn.djangoAdminSelect2) {
        django.jQuery(select).djangoAdminSelect2();
      }
    }
    renumber(container);
    var first = row.querySelector("select, input");
    if (first && !select) { first.focus(); }
    return row;
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    var container = button && button.closest("[data-piquet-rows]");
    if (!container) { return; }
    var row = button.closest(".piquet-row");
    if (button.classList.contains("piquet-add-row")) {
      addRow(container);
    } else if (button.classList.contains("piquet-remove-row") && row) {
      row.remove();
    } else if (button.classList.contains("piquet-move-up") && row && row.previousElementSibling) {
      row.parentNode.insertBefore(row, row.previousElementSibling);
    } else if (button.classList.contains("piquet-move-down") && row && row.nextElementSibling) {
      row.parentNode.insertBefore(row.nextElementSibling, row);
    } else {
      return;
    }
    event.preventDefault();
    renumber(container);
  });

  function init(root) {
    root.querySelectorAll("[data-piquet-rows]").forEach(function (container) { show(container); });
  }

  document.addEventListener("formset:added", function (event) { init(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { init(document); });
  } else {
    init(document);
  }
})();
