// Messages from the server's catalogs (GET verify/assets/i18n/<language>.json).
//
// Templates use Python's str.format fields, `{name}`, as the e-mails do. A key that exists
// only with `.one` / `.other` suffixes is plural: Intl.PluralRules picks the suffix from the
// first numeric parameter. Elements carry their key in data-i18n (and parameters in
// data-i18n-params), so switching the language re-renders every message in place.

export const SUPPORTED = ["en", "ja"];
export const DEFAULT_LANGUAGE = "en";

const catalogsUrl = new URL("../i18n/", import.meta.url);
let current = { locale: DEFAULT_LANGUAGE, languages: {}, messages: {} };

/** Map a language tag such as "ja-JP" to a supported language, or null. */
export function supportedLanguage(tag) {
  if (!tag) return null;
  const language = String(tag).replace("_", "-").split("-")[0].toLowerCase();
  return SUPPORTED.includes(language) ? language : null;
}

/** Pick the browser's first supported language, else the default. */
export function browserLanguage() {
  for (const tag of navigator.languages || [navigator.language]) {
    const language = supportedLanguage(tag);
    if (language) return language;
  }
  return DEFAULT_LANGUAGE;
}

export function locale() {
  return current.locale;
}

export function languageNames() {
  return { ...current.languages };
}

/** Load one language's catalog and make it current. */
export async function load(language) {
  const response = await fetch(new URL(`${language}.json`, catalogsUrl), {
    headers: { Accept: "application/json" },
  });
  if (!response.ok) throw new Error(`catalog ${language} returned HTTP ${response.status}`);
  current = await response.json();
  document.documentElement.lang = current.locale;
  return current;
}

export function has(key) {
  return Object.hasOwn(current.messages, key) || Object.hasOwn(current.messages, `${key}.other`);
}

function pluralKey(key, params) {
  if (Object.hasOwn(current.messages, key)) return key;
  const count = Object.values(params).find((value) => typeof value === "number");
  const category = new Intl.PluralRules(current.locale).select(count ?? 0);
  const candidate = `${key}.${category}`;
  return Object.hasOwn(current.messages, candidate) ? candidate : `${key}.other`;
}

/** Format a date-time for the current language, in the browser's regional variant of it. */
export function formatDate(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return String(iso);
  // en-GB writes "5 December 2026 at 21:02", en-US "December 5, 2026 at 9:02 PM".
  const regional = (navigator.languages || []).find((tag) => supportedLanguage(tag) === current.locale);
  const options = { dateStyle: "long", timeStyle: "short" };
  try {
    return new Intl.DateTimeFormat(regional || current.locale, options).format(date);
  } catch {
    return new Intl.DateTimeFormat(current.locale, options).format(date);
  }
}

function formatValue(value) {
  // {"date": iso} is a date to format in the current language, and {"key": k} a nested message.
  if (value && typeof value === "object") {
    if ("date" in value) return formatDate(value.date);
    if ("key" in value) return t(value.key, value.params || {});
  }
  return String(value);
}

/** Return the message `key` with its `{name}` fields filled from `params`. */
export function t(key, params = {}) {
  const template = current.messages[pluralKey(key, params)];
  if (template === undefined) {
    console.error(`missing message ${key}`);
    return key;
  }
  return template.replace(/\{(\w+)\}/g, (field, name) =>
    Object.hasOwn(params, name) ? formatValue(params[name]) : field,
  );
}

/** Set an element's text to a message and remember the key for a language switch. */
export function setText(element, key, params) {
  element.dataset.i18n = key;
  if (params) element.dataset.i18nParams = JSON.stringify(params);
  else delete element.dataset.i18nParams;
  element.textContent = t(key, params || {});
}

/** Set one attribute (such as alt) to a message and remember the key for a language switch. */
export function setAttribute(element, attribute, key, params) {
  element.dataset.i18nAttr = `${attribute}:${key}`;
  if (params) element.dataset.i18nAttrParams = JSON.stringify(params);
  else delete element.dataset.i18nAttrParams;
  element.setAttribute(attribute, t(key, params || {}));
}

/** Set text that does not come from a catalog, such as a credential, so that it is never translated. */
export function setPlainText(element, text) {
  delete element.dataset.i18n;
  delete element.dataset.i18nParams;
  element.textContent = text;
}

/** Render every data-i18n element and data-i18n-attr attribute in the current language. */
export function translatePage(root = document) {
  for (const element of root.querySelectorAll("[data-i18n]")) {
    const params = element.dataset.i18nParams ? JSON.parse(element.dataset.i18nParams) : {};
    element.textContent = t(element.dataset.i18n, params);
  }
  for (const element of root.querySelectorAll("[data-i18n-attr]")) {
    const params = element.dataset.i18nAttrParams ? JSON.parse(element.dataset.i18nAttrParams) : {};
    for (const pair of element.dataset.i18nAttr.split(";")) {
      const [attribute, key] = pair.split(":");
      element.setAttribute(attribute, t(key, params));
    }
  }
  document.title = t("page.title");
}
