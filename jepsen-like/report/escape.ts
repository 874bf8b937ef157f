// Escaping for report.html: everything taken from a history (keys, values, messages) is user data, so it goes
// into the page only as escaped text, or as JSON inside a script element that no "</script>" can close.

import type { JsonValue } from '../history.js';

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in element content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
}

/**
 * JSON safe inside `<script type="application/json">`: `<`, `>` and `&` as \u escapes, so that neither
 * "</script>" nor "<!--" can end or confuse the element; U+2028/U+2029 too, for old parsers. JSON.parse reads it
 * back unchanged.
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A value as JSON text of at most `maxChars` characters (an ellipsis marks a cut). */
export function shortJson(value: JsonValue, maxChars: number): string {
  const text = JSON.stringify(value) ?? 'null';
  return text.length <= maxChars ? text : `${text.slice(0, Math.max(0, maxChars - 1))}…`;
}
