() => {
  // The accessibility checks a test runs on the visible screen; returns a list of problems.
  // Checked: a name for every visible control and image, a text contrast ratio of WCAG 2.2 AA
  // (4.5:1, or 3:1 for large text) against the nearest opaque background, and no sideways
  // scrolling. Disabled and translucent elements are skipped: WCAG exempts inactive controls.
  const problems = [];
  const visible = (element) =>
    !!(element.offsetWidth || element.offsetHeight || element.getClientRects().length) &&
    getComputedStyle(element).visibility !== "hidden";

  for (const control of document.querySelectorAll("button, select, input:not([type=file]), a[href]")) {
    if (!visible(control)) continue;
    const labels = control.labels ? [...control.labels].map((label) => label.textContent).join(" ") : "";
    const name = labels || control.getAttribute("aria-label") || control.textContent;
    if (!name || !name.trim()) problems.push(`control without a name: ${control.outerHTML.slice(0, 80)}`);
  }
  for (const image of document.querySelectorAll("img, video")) {
    if (!visible(image)) continue;
    const name = image.getAttribute("alt") || image.getAttribute("aria-label");
    if (!name || !name.trim()) problems.push(`image without a text alternative: ${image.id}`);
  }

  const channel = (value) => {
    const fraction = value / 255;
    return fraction <= 0.04045 ? fraction / 12.92 : ((fraction + 0.055) / 1.055) ** 2.4;
  };
  const luminance = ([r, g, b]) => 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  const rgb = (text) => (text.match(/[\d.]+/g) || []).map(Number);
  const background = (element) => {
    for (let node = element; node; node = node.parentElement) {
      const colour = rgb(getComputedStyle(node).backgroundColor);
      if (colour.length === 3 || (colour.length === 4 && colour[3] === 1)) return colour.slice(0, 3);
    }
    return [255, 255, 255];
  };
  const skipped = ["SCRIPT", "STYLE", "VIDEO", "IMG", "OPTION"];
  for (const element of document.querySelectorAll("body *")) {
    if (!visible(element) || skipped.includes(element.tagName)) continue;
    const ownText = [...element.childNodes].some((node) => node.nodeType === 3 && node.textContent.trim());
    if (!ownText) continue;
    const style = getComputedStyle(element);
    if (element.disabled || Number(style.opacity) < 1) continue;
    const foreground = luminance(rgb(style.color).slice(0, 3));
    const behind = luminance(background(element));
    const ratio = (Math.max(foreground, behind) + 0.05) / (Math.min(foreground, behind) + 0.05);
    const size = parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) {
      const text = element.textContent.trim().slice(0, 40);
      problems.push(`contrast ${ratio.toFixed(2)} on ${element.tagName}#${element.id}: ${text}`);
    }
  }

  const width = document.documentElement.scrollWidth;
  if (width > window.innerWidth) problems.push(`page scrolls sideways: ${width} > ${window.innerWidth}`);
  return problems;
}
