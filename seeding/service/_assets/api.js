"use strict";
// The service's API from a page: JSON calls with the bearer token, asked once and kept in this tab
// (sessionStorage), and Server-Sent Events read over fetch (EventSource cannot send a header).

const TOKEN_KEY = "seeding.token";

class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

class Unauthorized extends ApiError {
  constructor(message) {
    super(401, message);
  }
}

const api = {
  needsToken: document.body.dataset.token === "required",

  token() {
    return sessionStorage.getItem(TOKEN_KEY);
  },

  headers(extra) {
    const headers = Object.assign({}, extra || {});
    const token = api.token();
    if (token) headers.Authorization = "Bearer " + token;
    return headers;
  },

  async call(method, path, body) {
    if (api.needsToken && !api.token()) await askToken("");
    const init = { method, headers: api.headers(body === undefined ? {} : { "Content-Type": "application/json" }) };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await fetch(path, init);
    const text = await response.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (error) {
        data = { error: text };
      }
    }
    const message = data && data.error ? data.error : response.status + " " + response.statusText;
    if (response.status === 401) throw new Unauthorized(message);
    if (!response.ok) throw new ApiError(response.status, message);
    return data;
  },

  // Calls ``onEvent(name, data)`` for each event of the stream at ``path`` until it ends.
  async events(path, onEvent, signal) {
    if (api.needsToken && !api.token()) await askToken("");
    const response = await fetch(path, { headers: api.headers({ Accept: "text/event-stream" }), signal });
    if (response.status === 401) throw new Unauthorized((await response.json()).error);
    if (!response.ok) throw new ApiError(response.status, response.statusText);
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        let name = "message";
        let data = "";
        for (const line of block.split("\n")) {
          if (line.startsWith("event:")) name = line.slice(6).trim();
          else if (line.startsWith("data:")) data += line.slice(5).trim();
        }
        if (data) onEvent(name, JSON.parse(data));
      }
    }
  },
};

// The token form: shown when the service wants a token this tab does not have, or refused the one it had.
let asking = null;

function askToken(message) {
  if (asking) return asking;
  const form = document.getElementById("token-form");
  const input = document.getElementById("token-input");
  const error = document.getElementById("token-error");
  error.textContent = message;
  error.hidden = !message;
  form.hidden = false;
  input.value = "";
  input.focus();
  asking = new Promise((resolve) => {
    form.onsubmit = (event) => {
      event.preventDefault();
      const token = input.value.trim();
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      form.hidden = true;
      asking = null;
      resolve(token);
    };
  });
  return asking;
}

// ``work()``, asked again with a new token while the service refuses the one given.
async function withToken(work) {
  for (;;) {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof Unauthorized)) throw error;
      sessionStorage.removeItem(TOKEN_KEY);
      await askToken(error.message);
    }
  }
}
