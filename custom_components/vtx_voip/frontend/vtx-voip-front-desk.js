/*
 * VTX VoIP front desk: a dashboard strategy and the card it shows. Plain JavaScript, no
 * build step, nothing fetched from the network: served by the integration itself.
 *
 *   strategy:
 *     type: custom:vtx-voip-front-desk
 *     entry_id: 0123abcd...      # optional: one VTX VoIP entry only
 *     area_id: reception         # optional: the lines in one area only
 *
 * The card asks the integration (websocket "vtx_voip/front_desk/subscribe") for every
 * line with its entity ids, missed calls and the board's labels in the user's language,
 * and is told again whenever a line is added, renamed, moved or removed. States come
 * from hass.states. Every label is from the integration's translations or Home
 * Assistant's own.
 */

const DOMAIN = "vtx_voip";
const CARD = "vtx-voip-front-desk-card";
const STRATEGY = "vtx-voip-front-desk";
const SUBSCRIBE = "vtx_voip/front_desk/subscribe";
const STATUS_COLOURS = {
  available: "var(--success-color, #43a047)",
  on_call: "var(--warning-color, #ffa600)",
  do_not_disturb: "var(--error-color, #db4437)",
  forwarded: "var(--info-color, #039be5)",
  offline: "var(--disabled-color, #bdbdbd)",
};
const UNAVAILABLE = ["unavailable", "unknown"];

const STYLE = `
  :host { display: block; }
  .board { display: grid; gap: 8px; grid-template-columns: repeat(auto-fill, minmax(220px, 1fr)); padding: 4px; }
  .empty { padding: 16px; color: var(--secondary-text-color); }
  ha-card, .card { display: block; height: 100%; box-sizing: border-box; }
  .line { padding: 10px 12px; border-left: 6px solid var(--status-colour); border-radius: var(--ha-card-border-radius, 12px); }
  .head { display: flex; align-items: center; gap: 8px; }
  .name { font-weight: 500; font-size: 1.05em; flex: 1; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .status { padding: 2px 8px; border-radius: 10px; font-size: 0.85em; color: #fff; background: var(--status-colour); white-space: nowrap; }
  .row { display: flex; align-items: center; gap: 8px; min-height: 30px; font-size: 0.92em; }
  .label { flex: 1; color: var(--primary-text-color); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .value { color: var(--secondary-text-color); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; max-width: 60%; }
  .destination { font-size: 0.85em; color: var(--secondary-text-color); margin: -4px 0 2px 0; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
  .missed .value { color: var(--error-color, #db4437); font-weight: 600; }
  .missed-badge { display: inline-block; min-width: 1.4em; padding: 0 5px; border-radius: 9px; text-align: center; background: var(--error-color, #db4437); color: #fff; font-weight: 600; }
  button.switch { position: relative; width: 38px; height: 20px; border-radius: 10px; border: none; cursor: pointer; padding: 0; flex: none;
    background: var(--switch-unchecked-track-color, #9e9e9e); transition: background 0.15s; }
  button.switch::after { content: ""; position: absolute; top: 2px; left: 2px; width: 16px; height: 16px; border-radius: 50%; background: #fff; transition: left 0.15s; }
  button.switch[aria-checked="true"] { background: var(--switch-checked-track-color, var(--primary-color)); }
  button.switch[aria-checked="true"]::after { left: 20px; }
  button.switch:disabled { opacity: 0.4; cursor: default; }
  .actions { display: flex; justify-content: flex-end; align-items: center; gap: 8px; margin-top: 4px; }
  .note { flex: 1; font-size: 0.85em; color: var(--secondary-text-color); }
  button.text { background: none; border: 1px solid var(--divider-color, #ccc); border-radius: 14px; padding: 3px 12px; cursor: pointer;
    color: var(--primary-color); font: inherit; font-size: 0.9em; }
  button.text.confirm { background: var(--error-color, #db4437); border-color: transparent; color: #fff; }
  dialog { border: none; border-radius: 12px; padding: 20px; max-width: 360px; background: var(--card-background-color, #fff); color: var(--primary-text-color); }
  dialog::backdrop { background: rgba(0, 0, 0, 0.4); }
  dialog h2 { margin: 0 0 8px 0; font-size: 1.15em; font-weight: 500; }
  dialog p { margin: 0 0 16px 0; }
  dialog .buttons { display: flex; justify-content: flex-end; gap: 8px; }
`;

function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "text") node.textContent = value;
    else if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value);
  }
  for (const child of children) if (child) node.append(child);
  return node;
}

function language(hass) {
  return (hass.locale && hass.locale.language) || hass.language || "en";
}

function relativeTime(iso, lang) {
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return null;
  const seconds = Math.round((then - Date.now()) / 1000);
  const format = new Intl.RelativeTimeFormat(lang, { numeric: "auto" });
  const steps = [
    [60, "second"],
    [3600, "minute", 60],
    [86400, "hour", 3600],
    [604800, "day", 86400],
    [Infinity, "week", 604800],
  ];
  const abs = Math.abs(seconds);
  if (abs < 45) return format.format(0, "second");
  for (const [limit, unit, size] of steps.slice(1)) {
    if (abs < limit) return format.format(Math.round(seconds / size), unit);
  }
  return format.format(Math.round(seconds / 604800), "week");
}

class VtxVoipFrontDeskCard extends HTMLElement {
  constructor() {
    super();
    this._config = {};
    this._hass = null;
    this._board = null;
    this._cards = new Map();
    this._signatures = new Map();
    this._unsubscribe = null;
    this._subscribedWith = null;
    this._timer = null;
    this._started = null;
    this.attachShadow({ mode: "open" });
    this.shadowRoot.append(el("style", { text: STYLE }), (this._root = el("div", { class: "board" })));
    this.shadowRoot.append((this._dialog = el("dialog")));
  }

  static getStubConfig() {
    return {};
  }

  setConfig(config) {
    this._config = { ...(config || {}) };
    if (this._unsubscribe) this._resubscribe();
  }

  getCardSize() {
    return Math.max(3, (this._board ? this._board.lines.length : 4) * 3);
  }

  getGridOptions() {
    return { columns: "full" };
  }

  set hass(hass) {
    const first = !this._hass;
    this._hass = hass;
    if (first || this._subscribedWith !== this._subscriptionKey()) this._resubscribe();
    else this._update();
  }

  get hass() {
    return this._hass;
  }

  connectedCallback() {
    if (this._hass && !this._unsubscribe) this._resubscribe();
    this._timer = window.setInterval(() => this._update(true), 30000);
  }

  disconnectedCallback() {
    window.clearInterval(this._timer);
    this._timer = null;
    this._stop();
  }

  _subscriptionKey() {
    return [language(this._hass), this._config.entry_id || "", this._config.area_id || ""].join("|");
  }

  _stop() {
    const unsubscribe = this._unsubscribe;
    this._unsubscribe = null;
    this._subscribedWith = null;
    if (unsubscribe) unsubscribe.then((stop) => stop()).catch(() => undefined);
  }

  _resubscribe() {
    this._stop();
    if (!this._hass || !this._hass.connection) return;
    const message = { type: SUBSCRIBE, language: language(this._hass) };
    if (this._config.entry_id) message.entry_id = this._config.entry_id;
    if (this._config.area_id) message.area_id = this._config.area_id;
    this._subscribedWith = this._subscriptionKey();
    this._started = performance.now();
    this._unsubscribe = this._hass.connection.subscribeMessage((board) => this._setBoard(board), message);
    this._unsubscribe.catch((err) => {
      this._root.replaceChildren(el("div", { class: "empty", text: String((err && err.message) || err) }));
    });
  }

  _setBoard(board) {
    const lang = language(this._hass);
    const collator = new Intl.Collator(lang, { numeric: true, sensitivity: "base" });
    board.lines.sort((a, b) => collator.compare(a.name, b.name) || a.user_id - b.user_id);
    this._board = board;
    const keys = new Set(board.lines.map((line) => `${line.entry_id}:${line.user_id}`));
    for (const key of [...this._cards.keys()]) {
      if (!keys.has(key)) {
        this._cards.get(key).remove();
        this._cards.delete(key);
        this._signatures.delete(key);
      }
    }
    this._signatures.clear();
    if (!board.lines.length) {
      this._root.replaceChildren(el("div", { class: "empty", text: board.labels.no_lines || "" }));
    } else {
      this._root.querySelector(".empty")?.remove();
    }
    this._update();
    if (this._started !== null) {
      // The time from subscribing to the first complete board (read by the browser test).
      this.dataset.renderMs = String(Math.round(performance.now() - this._started));
      this._started = null;
    }
  }

  _update(force = false) {
    if (!this._board || !this._hass) return;
    let previous = null;
    for (const line of this._board.lines) {
      const key = `${line.entry_id}:${line.user_id}`;
      let card = this._cards.get(key);
      if (!card) {
        card = el(customElements.get("ha-card") ? "ha-card" : "div", { class: "card" });
        this._cards.set(key, card);
      }
      const signature = this._signature(line);
      if (force || this._signatures.get(key) !== signature) {
        this._signatures.set(key, signature);
        this._render(card, line);
      }
      // Keep the sorted order with as few moves as possible.
      const expected = previous ? previous.nextSibling : this._root.firstChild;
      if (expected !== card) this._root.insertBefore(card, expected);
      previous = card;
    }
  }

  _state(line, key) {
    const entityId = line.entities[key];
    return entityId ? this._hass.states[entityId] : undefined;
  }

  _signature(line) {
    const parts = [line.name, line.missed, line.last_missed, line._note || ""];
    for (const key of ["status", "presence", "dnd", "forward", "last_call"]) {
      const state = this._state(line, key);
      parts.push(state ? state.state : "-");
      if (key === "forward" && state) parts.push(state.attributes.destination || "");
    }
    return JSON.stringify(parts);
  }

  _stateLabel(line, key, states) {
    const state = this._state(line, key);
    if (!state) return "";
    const own = this._board.labels[states] || {};
    if (own[state.state]) return own[state.state];
    return this._hass.formatEntityState ? this._hass.formatEntityState(state) : state.state;
  }

  _toggle(line, key, labels) {
    const state = this._state(line, key);
    const on = !!state && state.state === "on";
    const button = el("button", {
      class: "switch",
      role: "switch",
      "aria-checked": on ? "true" : "false",
      "aria-label": labels[key] || key,
      title: labels[key] || key,
      onclick: () => {
        button.disabled = true;
        this._hass
          .callService("switch", on ? "turn_off" : "turn_on", {}, { entity_id: line.entities[key] })
          .catch(() => undefined)
          .finally(() => {
            button.disabled = false;
          });
      },
    });
    if (!state || UNAVAILABLE.includes(state.state)) button.disabled = true;
    return el("div", { class: `row ${key}` }, [el("span", { class: "label", text: labels[key] || "" }), button]);
  }

  _render(card, line) {
    const labels = this._board.labels;
    const lang = language(this._hass);
    const status = this._state(line, "status");
    const statusValue = status && !UNAVAILABLE.includes(status.state) ? status.state : "offline";
    card.style.setProperty("--status-colour", STATUS_COLOURS[statusValue] || STATUS_COLOURS.offline);
    card.dataset.line = line.name;
    card.dataset.userId = String(line.user_id);
    card.dataset.status = statusValue;
    card.dataset.missed = String(line.missed);
    const body = el("div", { class: "line" }, [
      el("div", { class: "head" }, [
        el("span", { class: "name", text: line.name, title: line.name }),
        status ? el("span", { class: "status", text: this._stateLabel(line, "status", "status_states") }) : null,
      ]),
    ]);
    if (line.entities.dnd) body.append(this._toggle(line, "dnd", labels));
    if (line.entities.forward) {
      body.append(this._toggle(line, "forward", labels));
      const forward = this._state(line, "forward");
      // The destination only while the forward is on: an inactive one forwards nothing.
      if (forward && forward.state === "on" && forward.attributes.destination) {
        body.append(el("div", { class: "destination", text: `${labels.forward_to || "→"} ${forward.attributes.destination}` }));
      }
    }
    if (line.entities.presence) {
      body.append(
        el("div", { class: "row presence" }, [
          el("span", { class: "label", text: labels.presence }),
          el("span", { class: "value", text: this._stateLabel(line, "presence", "presence_states") }),
        ]),
      );
    }
    const missedLabel = line.missed_since_check_in ? labels.missed_since_check_in : labels.missed_today;
    const missedValue = el("span", { class: "value" }, [
      line.missed ? el("span", { class: "missed-badge", text: String(line.missed) }) : document.createTextNode("0"),
      line.last_missed ? document.createTextNode(` · ${relativeTime(line.last_missed, lang)}`) : null,
    ]);
    body.append(el("div", { class: `row missed-calls${line.missed ? " missed" : ""}` }, [
      el("span", { class: "label", text: missedLabel }),
      missedValue,
    ]));
    if (line.entities.last_call) {
      const last = this._state(line, "last_call");
      const when = last && !UNAVAILABLE.includes(last.state) ? relativeTime(last.state, lang) : null;
      body.append(
        el("div", { class: "row last-call" }, [
          el("span", { class: "label", text: labels.last_call }),
          el("span", { class: "value", text: when || labels.no_call || "", title: last ? last.state : "" }),
        ]),
      );
    }
    body.append(
      el("div", { class: "actions" }, [
        el("span", { class: "note", text: line._note || "" }),
        el("button", { class: "text check-out", text: labels.check_out, onclick: () => this._confirm(line) }),
      ]),
    );
    card.replaceChildren(body);
  }

  _confirm(line) {
    const labels = this._board.labels;
    const dialog = this._dialog;
    const close = () => dialog.close();
    dialog.replaceChildren(
      el("h2", { text: `${labels.check_out}: ${line.name}` }),
      el("p", { text: labels.check_out_confirm }),
      el("div", { class: "buttons" }, [
        el("button", { class: "text cancel", text: labels.cancel, onclick: close }),
        el("button", {
          class: "text confirm",
          text: labels.check_out,
          onclick: () => {
            close();
            this._checkOut(line);
          },
        }),
      ]),
    );
    dialog.dataset.line = line.name;
    dialog.showModal();
  }

  async _checkOut(line) {
    const { action, response } = line.check_out;
    const labels = this._board.labels;
    try {
      await this._hass.callService(DOMAIN, action, {}, { device_id: line.device_id }, true, response);
      line._note = labels.done;
    } catch (err) {
      line._note = `${labels.failed}: ${(err && err.message) || err}`;
    }
    this._update();
  }
}

class VtxVoipFrontDeskStrategy extends HTMLElement {
  static async generate(config, hass) {
    const card = { type: `custom:${CARD}` };
    if (config.entry_id) card.entry_id = config.entry_id;
    if (config.area_id) card.area_id = config.area_id;
    return {
      title: config.title,
      views: [
        {
          title: config.view_title || config.title || "VTX VoIP",
          path: config.path || "lines",
          icon: "mdi:phone-classic",
          type: "panel",
          cards: [card],
        },
      ],
    };
  }
}

// Registration. The frontend imports this module (an extra module URL) alongside its own
// entry point, and either may run first. The entry point installs a polyfill of scoped
// custom element registries that replaces window.customElements with a registry of its own,
// which knows nothing defined before it: the frontend then waits in vain for the strategy
// ("Timeout waiting for strategy element ... to be registered") and for the card. So the
// elements are defined in the registry of the moment, and again in the one the frontend
// uses once it has defined its root element <home-assistant> (the polyfill is in place by
// then). The strategy is also announced in window.customStrategies (the frontend's list of
// custom dashboards, 2026.5+).
const ELEMENTS = [
  [CARD, VtxVoipFrontDeskCard],
  [`ll-strategy-dashboard-${STRATEGY}`, VtxVoipFrontDeskStrategy],
];

function register() {
  const registry = window.customElements;
  for (const [tag, element] of ELEMENTS) {
    if (!registry.get(tag)) registry.define(tag, element);
  }
}

register();
window.customElements.whenDefined("home-assistant").then(register);
window.customStrategies = window.customStrategies || [];
if (!window.customStrategies.some((entry) => entry.type === STRATEGY && entry.strategyType === "dashboard")) {
  window.customStrategies.push({
    type: STRATEGY,
    strategyType: "dashboard",
    name: "VTX VoIP front desk",
    description: "Every line with its status, stay, calls and check-in/check-out",
  });
}
window.customCards = window.customCards || [];
if (!window.customCards.some((entry) => entry.type === CARD)) window.customCards.push({ type: CARD, name: "VTX VoIP" });
