import type { Page } from 'playwright-core';

/**
 * Elements of the page wider than the viewport or outside it (a table inside its own scroll box is clipped by the
 * box, which itself must fit), and the document's scroll width against the viewport's.
 */
export async function overflowingElements(page: Page): Promise<{ vw: number; scrollWidth: number; out: string[] }> {
  return page.locator('html').evaluate((html) => {
    const vw = html.clientWidth;
    const out: string[] = [];
    for (const el of html.querySelectorAll('body *')) {
      if (el.parentElement?.closest('.table-scroll')) continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 && r.height === 0) continue;
      if (r.left < -0.5 || r.right > vw + 0.5) out.push(`${el.tagName}.${el.className} ${r.left}…${r.right}`);
    }
    return { vw, scrollWidth: html.scrollWidth, out };
  });
}

/** Columns of the visible tables that cannot be scrolled into view whole beside the sticky first column. */
export async function unreachableColumns(page: Page): Promise<string[]> {
  return page.locator('.table-scroll').evaluateAll((boxes) => {
    const out: string[] = [];
    for (const box of boxes) {
      if (box.getBoundingClientRect().width === 0) continue;
      const ths = [...box.querySelectorAll('thead th')];
      const first = ths[0].getBoundingClientRect().width;
      for (const th of ths.slice(1)) {
        box.scrollLeft = (th as unknown as { offsetLeft: number }).offsetLeft - first;
        const b = box.getBoundingClientRect();
        const r = th.getBoundingClientRect();
        const stuck = ths[0].getBoundingClientRect();
        if (r.left < b.left + first - 1 || r.right > b.right + 1 || Math.abs(stuck.left - b.left) > 1) out.push(`${box.getAttribute('aria-label')}: ${th.textContent}`);
      }
      box.scrollLeft = 0;
    }
    return out;
  });
}
