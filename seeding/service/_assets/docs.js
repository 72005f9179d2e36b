"use strict";
// /docs: every operation of the service's OpenAPI document, each with a form that sends it from
// here (path parameters, query, JSON body) and shows the answer. Rendered from /openapi.json.

const METHODS = ["get", "post", "put", "delete", "patch"];

function node(tag, attributes, ...children) {
  const made = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (key === "class") made.className = value;
    else made[key] = value;
  }
  for (const child of children) made.append(child instanceof Node ? child : String(child));
  return made;
}

function example(spec, schema) {
  if (!schema) return {};
  if (schema.$ref) return example(spec, spec.components.schemas[schema.$ref.split("/").pop()]);
  if (schema.required && schema.required.includes("plan")) return { plan: "get-operations", users: 10 };
  return {};
}

function operation(spec, path, method, item) {
  const op = item[method];
  const parameters = [...(item.parameters || []), ...(op.parameters || [])];
  const inputs = new Map();
  const form = node("form", { class: "try" });
  for (const parameter of parameters) {
    const input = node("input", { placeholder: parameter.name, name: parameter.name });
    inputs.set(parameter.name, { input, where: parameter.in });
    form.append(node("label", {}, parameter.name + " (" + parameter.in + ") ", input));
  }
  let body = null;
  const schema = op.requestBody && op.requestBody.content["application/json"];
  if (schema) {
    body = node("textarea", { name: "body", value: JSON.stringify(example(spec, schema.schema), null, 2) });
    form.append(node("label", {}, "JSON body"), body);
  }
  const answer = node("pre", { hidden: true });
  form.append(node("div", {}, node("button", { type: "submit" }, "Send")), answer);
  form.onsubmit = async (event) => {
    event.preventDefault();
    let url = path;
    const query = new URLSearchParams();
    for (const [name, { input, where }] of inputs) {
      if (where === "path") url = url.replace("{" + name + "}", encodeURIComponent(input.value));
      else if (input.value) query.set(name, input.value);
    }
    if ([...query].length) url += "?" + query;
    answer.hidden = false;
    try {
      const sent = body ? JSON.parse(body.value || "{}") : undefined;
      const data = await withToken(() => api.call(method.toUpperCase(), url, sent));
      answer.className = "";
      answer.textContent = typeof data === "string" ? data : JSON.stringify(data, null, 2);
    } catch (error) {
      answer.className = "error";
      answer.textContent = error.status ? error.status + ": " + error.message : String(error.message);
    }
  };
  const open = !["/", "/docs", "/ui/{name}"].includes(path);
  return node(
    "details",
    { class: "operation" },
    node(
      "summary",
      {},
      node("span", { class: "method method-" + method }, method.toUpperCase()),
      node("code", {}, path),
      node("span", { class: "muted" }, op.summary || ""),
    ),
    open ? form : node("p", { class: "muted" }, "A page or its assets: open it in the browser."),
  );
}

async function start() {
  try {
    const spec = await withToken(() => api.call("GET", "/openapi.json"));
    document.getElementById("description").textContent =
      spec.info.title + " — " + spec.info.description + " (OpenAPI " + spec.openapi + ")";
    const list = document.getElementById("operations");
    for (const [path, item] of Object.entries(spec.paths)) {
      for (const method of METHODS) if (item[method]) list.append(operation(spec, path, method, item));
    }
    document.body.dataset.ready = "yes";
  } catch (error) {
    const box = document.getElementById("message");
    box.textContent = error.message;
    box.className = "error";
    box.hidden = false;
  }
}

start();
