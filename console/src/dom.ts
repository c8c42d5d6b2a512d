/**
 * The only way the console builds DOM: elements from tag names, text only through text nodes. No HTML
 * string ever reaches the page (no innerHTML and friends), so data from the API — an email such as
 * `<img src=x onerror=…>` — is always shown as the literal text it is.
 */

export type Child = Node | string | number | null | undefined | false | readonly Child[];
type AttrValue = string | number | boolean | null | undefined;

export interface Attrs {
  [name: string]: AttrValue | Record<string, EventListener> | undefined;
  /** Event listeners, added with addEventListener (never as `on*` attributes). */
  on?: Record<string, EventListener>;
}

// Attributes that would run code or load content from data; the console has no reason to set them.
const FORBIDDEN = /^(?:on|style$|srcdoc$|formaction$|action$|src$)/i;
// Links only ever point inside the console (hash routes).
const SAFE_HREF = /^#\/[a-z]*$/;

function setAttr(el: Element, name: string, value: AttrValue): void {
  if (FORBIDDEN.test(name)) throw new Error(`refusing to set attribute ${name}`);
  if (name === "href" && !SAFE_HREF.test(String(value))) throw new Error("refusing a link outside the console");
  if (value === false || value === null || value === undefined) return;
  el.setAttribute(name, value === true ? "" : String(value));
}

export function append(parent: Node, child: Child): void {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child as readonly Child[]) append(parent, c);
  } else if (child instanceof Node) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs | null, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs ?? {})) {
    if (name === "on") {
      for (const [type, listener] of Object.entries(value as Record<string, EventListener>)) el.addEventListener(type, listener);
    } else {
      setAttr(el, name, value as AttrValue);
    }
  }
  append(el, children);
  return el;
}

/** Replaces every child of `el`. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let lastId = 0;
/** A document-unique id, for label/for and aria-describedby pairs. */
export function uid(prefix: string): string {
  lastId += 1;
  return `${prefix}-${lastId}`;
}
