/**
 * A few lines of DOM building for the dashboard: elements from tag, attributes and children,
 * text always set as text (never parsed as HTML, so nothing a log entry holds can inject
 * markup), and the check badge every verification on the page is shown with.
 */

import type { Check } from './world.ts';

/** Child is what an element may hold: nodes, text, nothing. */
export type Child = Node | string | number | bigint | null | undefined | false | readonly Child[];

/** h creates an element; attributes starting with `on` are event listeners, the rest attributes. */
export function h(
  tag: string,
  attributes: Readonly<Record<string, string | number | boolean | EventListener | undefined>> = {},
  ...children: Child[]
): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

/** append adds children to an element, flattening lists and skipping empty values. */
export function append(element: Element, children: readonly Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child as readonly Child[]);
    else if (child instanceof Node) element.append(child);
    else element.append(String(child));
  }
}

/** badge shows a check as a pass or a failure; the reason is in the title and beside it. */
export function badge(check: Check, okText = 'verified', failText = 'failed'): HTMLElement {
  return check.ok
    ? h('span', { class: 'check ok', title: check.detail }, `✓ ${okText}`)
    : h('span', { class: 'check fail', title: check.error }, `✗ ${failText}`);
}

/** checkLine is a badge followed by what the check established or why it failed. */
export function checkLine(check: Check, okText?: string, failText?: string): HTMLElement {
  return h(
    'div',
    { class: 'check-line', 'data-ok': String(check.ok) },
    badge(check, okText, failText),
    h('span', { class: 'why' }, check.ok ? check.detail : check.error),
  );
}

/** short abbreviates a hex digest for tables; the full value is in the title. */
export function short(hex: string, length = 12): HTMLElement {
  return h('span', { class: 'hash', title: hex }, hex.length > length ? `${hex.slice(0, length)}…` : hex);
}
