// Small DOM helpers: every value is set as text (never parsed as HTML).

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

export function table(caption, columns, rows) {
  return h("table", {},
    h("caption", { class: "visually-hidden" }, caption),
    h("thead", {}, h("tr", {}, columns.map((c) => h("th", { scope: "col" }, c[0])))),
    h("tbody", {}, rows.length
      ? rows.map((r) => h("tr", {}, columns.map((c) => h("td", {}, c[1](r)))))
      : h("tr", {}, h("td", { colspan: columns.length }, "none"))));
}

export function card(title, ...body) {
  return h("div", { class: "card" }, h("h3", {}, title), ...body);
}

export function state(text, good) {
  return h("span", { class: good === null || good === undefined ? "warn" : good ? "ok" : "bad" }, text);
}

export function field(id, label, attrs = {}) {
  return h("div", {}, h("label", { for: id }, label), h("input", { id, name: id, ...attrs }));
}

export function select(id, label, options, value) {
  return h("div", {}, h("label", { for: id }, label),
    h("select", { id, name: id }, options.map((o) => h("option", { value: o, selected: o === value }, o || "any"))));
}

export function sparkline(points) {
  const values = points.map((p) => Number(p.equity));
  if (values.length < 2) return h("p", {}, "no equity history yet");
  const min = Math.min(...values), max = Math.max(...values), span = max - min || 1;
  const coords = values.map((v, i) => `${(i / (values.length - 1)) * 1000},${140 - ((v - min) / span) * 130 - 5}`);
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("class", "curve");
  svg.setAttribute("viewBox", "0 0 1000 140");
  svg.setAttribute("preserveAspectRatio", "none");
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", `equity curve, ${values.length} points, from ${min.toFixed(2)} to ${max.toFixed(2)}`);
  const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
  line.setAttribute("points", coords.join(" "));
  svg.append(line);
  return svg;
}
