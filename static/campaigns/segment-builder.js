/* The segment builder: edits the rule tree held in the form's `rules` field and shows a
   live count from the admin's count endpoint (the same compiler as the API). */
(function () {
  "use strict";

  var OP_LABELS = {
    eq: "is", ne: "is not", "in": "is one of", not_in: "is none of",
    gt: "more than", gte: "at least", lt: "less than", lte: "at most", between: "between",
    is: "is", has: "yes", has_not: "no",
    before: "before", after: "after",
    within_last_days: "in the last … days", not_within_last_days: "not in the last … days",
    is_set: "is known", is_not_set: "is unknown"
  };
  var NO_VALUE = ["is_set", "is_not_set"];
  var WINDOWS = [[null, "any time"], [7, "in the last 7 days"], [30, "in the last 30 days"],
    [90, "in the last 90 days"], [180, "in the last 180 days"], [365, "in the last year"]];

  var root, options, fields = {}, state, textarea, countBox, countNumber, errorBox;
  var timer = null, inFlight = null, countUrl, segmentId;

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") { node.textContent = attrs[key]; }
      else if (key.indexOf("on") === 0) { node.addEventListener(key.slice(2), attrs[key]); }
      else if (attrs[key] !== null && attrs[key] !== undefined && attrs[key] !== false) {
        node.setAttribute(key, attrs[key] === true ? "" : attrs[key]);
      }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  function optionsOf(spec) {
    if (spec.choices && spec.choices.length) {
      return spec.choices.map(function (c) { return [c.value, c.label]; });
    }
    var refs = (options.refs || {})[spec.refers_to];
    if (refs) { return refs.map(function (r) { return [r.slug, r.name]; }); }
    return null;
  }

  function today() { return new Date().toISOString().slice(0, 10); }

  function defaultValue(spec, op) {
    if (NO_VALUE.indexOf(op) >= 0) { return undefined; }
    var choices = optionsOf(spec);
    var first = choices && choices.length ? choices[0][0] : "";
    switch (spec.type) {
      case "bool": return true;
      case "number": return op === "between" ? [0, 100] : (spec.field === "age" ? 30 : 1);
      case "date": return op.indexOf("within") >= 0 ? 30 : today();
      case "event": return spec.refers_to ? first : undefined;
      default: return (op === "in" || op === "not_in") ? (first ? [first] : []) : first;
    }
  }

  function newRule(name) {
    var spec = fields[name];
    var rule = { field: name, op: spec.ops[0] };
    var value = defaultValue(spec, rule.op);
    if (value !== undefined) { rule.value = value; }
    return rule;
  }

  function isGroup(node) { return node && (node.all !== undefined || node.any !== undefined); }
  function kindOf(group) { return group.all !== undefined ? "all" : "any"; }
  function join(path, key) { return path ? path + "." + key : key; }

  /* --- Rendering ---------------------------------------------------------------------- */

  function render() {
    root.replaceChildren(renderGroup(state, "", null));
    changed();
  }

  function renderGroup(group, path, remove) {
    var kind = kindOf(group);
    var items = group[kind];
    var box = el("div", { "class": "seg-group" + (group.not ? " is-negated" : ""), "data-path": path || "$" });
    var kindSelect = el("select", {
      "aria-label": "How the rules combine",
      onchange: function () {
        var next = kindSelect.value;
        group[next] = items; delete group[kind];
        render();
      }
    }, [el("option", { value: "all", text: "Match ALL of these", selected: kind === "all" }),
        el("option", { value: "any", text: "Match ANY of these", selected: kind === "any" })]);
    var negate = el("input", {
      type: "checkbox", checked: !!group.not,
      onchange: function () { if (negate.checked) { group.not = true; } else { delete group.not; } render(); }
    });
    box.appendChild(el("div", { "class": "seg-group-head" }, [
      kindSelect,
      el("label", {}, [negate, document.createTextNode(" exclude the customers who match")]),
      remove ? el("button", { type: "button", "class": "seg-remove", text: "Remove group", onclick: remove }) : null
    ]));
    if (!items.length) {
      box.appendChild(el("p", { "class": "seg-empty",
        text: kind === "all" ? "No rules yet: every customer." : "No rules yet: nobody." }));
    }
    items.forEach(function (item, index) {
      var childPath = join(path, kind) + "[" + index + "]";
      var drop = function () { items.splice(index, 1); render(); };
      box.appendChild(isGroup(item) ? renderGroup(item, childPath, drop) : renderRule(item, childPath, drop));
    });
    box.appendChild(el("div", { "class": "seg-group-foot" }, [
      el("button", { type: "button", "class": "button seg-add", text: "+ Rule",
        onclick: function () { items.push(newRule("lifecycle_stage")); render(); } }),
      el("button", { type: "button", "class": "button seg-add", text: "+ Group",
        onclick: function () { items.push({ any: [newRule("country")] }); render(); } })
    ]));
    return box;
  }

  function fieldSelect(rule) {
    var select = el("select", { "aria-label": "Field", "class": "seg-field" });
    var groups = {};
    options.fields.forEach(function (spec) {
      if (!groups[spec.group]) {
        groups[spec.group] = el("optgroup", { label: spec.group });
        select.appendChild(groups[spec.group]);
      }
      groups[spec.group].appendChild(el("option", { value: spec.field, text: spec.label, selected: spec.field === rule.field }));
    });
    select.addEventListener("change", function () {
      var fresh = newRule(select.value);
      Object.keys(rule).forEach(function (key) { delete rule[key]; });
      Object.assign(rule, fresh);
      render();
    });
    return select;
  }

  function opSelect(rule, spec) {
    var select = el("select", { "aria-label": "Operator", "class": "seg-op" },
      spec.ops.map(function (op) { return el("option", { value: op, text: OP_LABELS[op] || op, selected: op === rule.op }); }));
    select.addEventListener("change", function () {
      var before = rule.op;
      rule.op = select.value;
      var sameShape = (["in", "not_in"].indexOf(before) >= 0) === (["in", "not_in"].indexOf(rule.op) >= 0) &&
        (before === "between") === (rule.op === "between") &&
        (before.indexOf("within") >= 0) === (rule.op.indexOf("within") >= 0) &&
        NO_VALUE.indexOf(rule.op) < 0 && NO_VALUE.indexOf(before) < 0;
      if (!sameShape) {
        var value = defaultValue(spec, rule.op);
        if (value === undefined) { delete rule.value; } else { rule.value = value; }
      }
      render();
    });
    return select;
  }

  function numberInput(value, onValue, label) {
    var input = el("input", { type: "number", min: "0", step: "any", value: value, "aria-label": label });
    input.addEventListener("input", function () { onValue(input.value === "" ? null : Number(input.value)); });
    return input;
  }

  function valueEditor(rule, spec) {
    var op = rule.op;
    if (NO_VALUE.indexOf(op) >= 0) { return null; }
    var set = function (value) { rule.value = value; changed(); };
    if (spec.type === "bool") {
      var yesNo = el("select", { "aria-label": "Value", "class": "seg-value" }, [
        el("option", { value: "true", text: "yes", selected: rule.value === true }),
        el("option", { value: "false", text: "no", selected: rule.value === false })]);
      yesNo.addEventListener("change", function () { set(yesNo.value === "true"); });
      return yesNo;
    }
    if (spec.type === "number") {
      if (op === "between") {
        var pair = Array.isArray(rule.value) ? rule.value.slice() : [0, 0];
        return el("span", { "class": "seg-value" }, [
          numberInput(pair[0], function (v) { pair[0] = v; set(pair.slice()); }, "From"),
          document.createTextNode(" and "),
          numberInput(pair[1], function (v) { pair[1] = v; set(pair.slice()); }, "To")]);
      }
      var number = numberInput(rule.value, set, "Value");
      number.classList.add("seg-value");
      return number;
    }
    if (spec.type === "date") {
      if (op.indexOf("within") >= 0) {
        var days = numberInput(rule.value, set, "Days");
        days.classList.add("seg-value");
        return days;
      }
      var date = el("input", { type: "date", value: rule.value, "aria-label": "Date", "class": "seg-value" });
      date.addEventListener("change", function () { set(date.value); });
      return date;
    }
    if (spec.type === "event" && !spec.refers_to) { return null; }
    var choices = optionsOf(spec);
    var many = op === "in" || op === "not_in";
    if (choices) {
      var current = [].concat(rule.value === undefined ? [] : rule.value);
      var select = el("select", { "aria-label": "Value", "class": "seg-value", multiple: many },
        choices.map(function (c) { return el("option", { value: c[0], text: c[1], selected: current.indexOf(c[0]) >= 0 }); }));
      select.addEventListener("change", function () {
        var picked = Array.prototype.filter.call(select.options, function (o) { return o.selected; })
          .map(function (o) { return o.value; });
        set(many ? picked : picked[0]);
      });
      return select;
    }
    var text = el("input", {
      type: "text", "class": "seg-value", "aria-label": "Value",
      value: many ? [].concat(rule.value || []).join(", ") : (rule.value || ""),
      placeholder: many ? "comma, separated, values" : (spec.help || "")
    });
    text.addEventListener("input", function () {
      set(many ? text.value.split(",").map(function (v) { return v.trim(); }).filter(Boolean) : text.value);
    });
    return text;
  }

  function windowSelect(rule, spec) {
    if (!spec.within_days) { return null; }
    var select = el("select", { "aria-label": "When", "class": "seg-window" },
      WINDOWS.map(function (w) {
        return el("option", { value: w[0] === null ? "" : w[0], text: w[1], selected: (rule.within_days || null) === w[0] });
      }));
    select.addEventListener("change", function () {
      if (select.value) { rule.within_days = Number(select.value); } else { delete rule.within_days; }
      changed();
    });
    return select;
  }

  function renderRule(rule, path, remove) {
    var spec = fields[rule.field];
    if (!spec) {
      return el("div", { "class": "seg-rule", "data-path": path }, [
        el("span", { text: "Unknown field " + rule.field }),
        el("button", { type: "button", "class": "seg-remove", text: "Remove", onclick: remove })]);
    }
    return el("div", { "class": "seg-rule", "data-path": path }, [
      fieldSelect(rule), opSelect(rule, spec), valueEditor(rule, spec), windowSelect(rule, spec),
      el("button", { type: "button", "class": "seg-remove", "aria-label": "Remove rule", text: "×", onclick: remove })
    ]);
  }

  /* --- Saving and counting ------------------------------------------------------------ */

  function changed() {
    textarea.value = JSON.stringify(state, null, 1);
    countBox.classList.add("is-loading");
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(count, 350);
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function showError(error) {
    root.querySelectorAll(".seg-invalid").forEach(function (node) { node.classList.remove("seg-invalid"); });
    if (!error) { errorBox.hidden = true; errorBox.textContent = ""; return; }
    var path = (error.details && error.details.path) || "";
    errorBox.textContent = error.message + (path ? " (at " + path + ")" : "");
    errorBox.hidden = false;
    var best = null;
    root.querySelectorAll("[data-path]").forEach(function (node) {
      var p = node.getAttribute("data-path");
      if (p === path || path.indexOf(p + ".") === 0 || path.indexOf(p + "[") === 0) {
        if (!best || p.length > best.getAttribute("data-path").length) { best = node; }
      }
    });
    if (best) { best.classList.add("seg-invalid"); }
  }

  function count() {
    if (inFlight) { inFlight.abort(); }
    var controller = new AbortController();
    inFlight = controller;
    var body = { rules: state };
    if (segmentId) { body.segment = Number(segmentId); }
    fetch(countUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "application/json" },
      body: JSON.stringify(body),
      signal: controller.signal
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      countBox.classList.remove("is-loading");
      if (result.ok) {
        countNumber.textContent = Number(result.data.count).toLocaleString();
        countNumber.setAttribute("data-count", result.data.count);
        showError(null);
      } else {
        countNumber.textContent = "—";
        countNumber.removeAttribute("data-count");
        showError(result.data.error || { message: "The count failed." });
      }
    }).catch(function (error) {
      if (error.name !== "AbortError") {
        countBox.classList.remove("is-loading");
        showError({ message: "The count could not be fetched; check the connection." });
      }
    });
  }

  function syncKind() {
    var kind = document.getElementById("id_kind");
    var dynamic = !kind || kind.value === "dynamic";
    document.getElementById("segment-builder").hidden = !dynamic;
    var rulesSet = textarea.closest("fieldset");
    if (rulesSet) { rulesSet.hidden = !dynamic; }
  }

  function start() {
    var optionsNode = document.getElementById("segment-builder-options");
    textarea = document.getElementById("id_rules");
    if (!optionsNode || !textarea) { return; }
    options = JSON.parse(optionsNode.textContent);
    options.fields.forEach(function (spec) { fields[spec.field] = spec; });
    var section = document.getElementById("segment-builder");
    // The builder sits between the segment's name and kind and its JSON.
    var rulesSet = textarea.closest("fieldset");
    if (rulesSet) { rulesSet.parentNode.insertBefore(section, rulesSet); }
    countUrl = section.getAttribute("data-count-url");
    segmentId = section.getAttribute("data-segment");
    root = document.getElementById("segment-rules");
    countBox = section.querySelector(".segment-count");
    countNumber = document.getElementById("segment-count");
    errorBox = document.getElementById("segment-error");
    try { state = JSON.parse(textarea.value || "null"); } catch (e) { state = null; }
    if (!isGroup(state)) { state = { all: [] }; }
    textarea.readOnly = true;
    var kind = document.getElementById("id_kind");
    if (kind) { kind.addEventListener("change", syncKind); }
    syncKind();
    render();
  }

  document.addEventListener("DOMContentLoaded", start);
})();
