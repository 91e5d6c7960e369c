// Drives JupyterLab (started by check_explorer.py) in headless chromium: runs the notebook,
// presses notebook shortcuts with focus on every control of the explorer, sorts the table,
// measures the layout and saves screenshots. Exits non-zero on the first broken promise.
import { chromium } from 'playwright-core';

const url = process.env.LAB_URL;
const shots = process.env.SHOTS;
const lab = (process.env.APP || 'lab') === 'lab';  // else Notebook 7: no file browser beside
const failures = [];
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures.push(what);
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
const errors = [];
let loaded = false;  // errors of the host's own start-up are printed, not counted
const hostErrors = [];
page.on('pageerror', (e) => (loaded ? errors : hostErrors).push(`${e} ${(e.stack || '').split('\n')[1] || ''}`));
page.on('console', (m) => { if (m.type() === 'error') (loaded ? errors : hostErrors).push(m.text()); });
await page.goto(url);
await page.waitForSelector('.jp-Notebook .jp-Cell', { timeout: 120000 });
await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.shell.currentWidget
  && window.jupyterapp.shell.currentWidget.sessionContext?.session?.kernel, null,
  { timeout: 120000 });
await page.waitForTimeout(1500);
loaded = true;
if (hostErrors.length) console.log(`     before the notebook ran, the host logged: ${hostErrors.join(' | ')}`);
await page.evaluate(() => window.jupyterapp.commands.execute('notebook:run-all-cells'));
await page.waitForFunction(() => document.querySelectorAll('.mlreg-explorer tbody tr').length > 5,
  null, { timeout: 120000 });
await page.waitForTimeout(500);
check(await page.evaluate(() => !!document.querySelector('.mlreg-explorer[data-lm-suppress-shortcuts]')),
  'the explorer carries its key guard');

const state = () => page.evaluate(() => {
  const cells = [...document.querySelectorAll('.jp-Notebook .jp-Cell')];
  return {
    cells: cells.length,
    first: cells[0] && (cells[0].classList.contains('jp-CodeCell') ? 'code' : 'other'),
    explorer: document.querySelectorAll('.mlreg-explorer').length,
  };
});
const no = page.locator('.jp-toast-button', { hasText: /^No$/ });
if (await no.count()) await no.first().click();  // the news opt-in toast covers the detail
const before = await state();
check(before.cells === 2 && before.first === 'code' && before.explorer === 1,
  `the notebook shows the explorer in its code cell (${JSON.stringify(before)})`);

// every focusable control of the explorer: dropdowns, the registry list, text boxes, tag
// input, tabs; press the shortcuts that delete the cell or change its type, and arrows
const controls = await page.evaluate(() => {
  const root = document.querySelector('.mlreg-explorer');
  const found = [...root.querySelectorAll('select, input, .lm-TabBar-tab, button')];
  return found.map((el, i) => { el.setAttribute('data-check', String(i));
    return `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ')[0] : ''}`
      + ` ${(el.closest('.widget-inline-hbox')?.querySelector('label')?.textContent || el.title
      || el.textContent || el.placeholder || '').trim().slice(0, 30)}`; });
});
let safe = 0;
for (let i = 0; i < controls.length; i++) {
  const el = page.locator(`[data-check="${i}"]`);
  if (!(await el.count()) || !(await el.isVisible())) continue;
  const tag = await el.evaluate((e) => e.tagName);
  const value = tag === 'SELECT' ? await el.inputValue() : null;
  if (tag === 'SELECT') await el.focus();
  else await el.click();
  for (const key of ['d', 'd', 'm', 'r', 'ArrowDown', 'ArrowUp', 'y']) await page.keyboard.press(key);
  await page.keyboard.press('Escape');
  const now = await state();
  const ok = now.cells === before.cells && now.first === 'code' && now.explorer === 1;
  if (!ok) {
    check(false, `keys with focus on ${controls[i]} (${JSON.stringify(now)})`);
    break;  // the explorer is gone: nothing more to check
  }
  safe += 1;
  // arrows change a dropdown, text boxes keep what was typed: put the filters back
  if (tag === 'SELECT' && value !== null && (await el.inputValue()) !== value) {
    await el.selectOption(value);
  }
  await el.evaluate((e) => { if (e.tagName === 'INPUT' && e.value) { e.value = '';
    e.dispatchEvent(new Event('input', { bubbles: true }));
    e.dispatchEvent(new Event('change', { bubbles: true })); } });
}
if (failures.length) {
  await browser.close();
  console.log(`FAILED: ${failures.length} failed checks`);
  process.exit(1);
}
for (const tab of ['table', 'summary']) {
  await page.locator('.mlreg-explorer .lm-TabBar-tab', { hasText: new RegExp(`^${tab}$`) }).click();
}
await page.waitForTimeout(500);
check(safe >= 12, `D D / M / R / arrows with focus on ${safe} controls left the cell a code cell`);

// arrows move the registry list's selection (the host no longer eats them)
const list = page.locator('.mlreg-explorer .widget-select select');
await list.focus();
const picked = await list.inputValue();
await page.keyboard.press('ArrowDown');
await page.waitForTimeout(300);
check((await list.inputValue()) !== picked, 'ArrowDown in the registry list picks the next registry');

// the shortcuts still work outside the explorer: the probe cell turns into Markdown
await page.locator('.jp-Notebook .jp-Cell').nth(1).locator('.jp-InputPrompt').click();
await page.keyboard.press('Escape');
await page.keyboard.press('m');
await page.waitForTimeout(300);
const probe = await page.evaluate(() => document.querySelectorAll('.jp-Notebook .jp-Cell')[1]
  .classList.contains('jp-MarkdownCell'));
check(probe, 'M in command mode on the probe cell makes it Markdown (the check can see shortcuts)');

// sort by cost, descending, and read the column back
const selectByLabel = async (label, value) => {
  const box = page.locator('.mlreg-explorer .widget-dropdown', { hasText: label }).first();
  await box.locator('select').selectOption({ label: value });
};
const column = (name) => page.evaluate((name) => {
  const table = document.querySelector('.mlreg-explorer .mlreg-t');
  const heads = [...table.querySelectorAll('thead th')].map((t) => t.textContent);
  const at = heads.findIndex((h) => h.startsWith(name));
  return [...table.querySelectorAll('tbody tr:not(.mlreg-total)')]
    .map((r) => r.children[at].textContent);
}, name);
// the kernel answers each change: poll until the table says so (or 20 s pass)
const eventually = async (read, ok) => {
  let value = await read();
  for (let i = 0; i < 80 && !ok(value); i++) { await page.waitForTimeout(250); value = await read(); }
  return value;
};
const descending = (v) => v.length > 5 && v.every((x, i) => i === 0 || v[i - 1] >= x);
await selectByLabel('Sort by', 'cost');
const orderBox = page.locator('.mlreg-explorer .widget-dropdown select')
  .filter({ has: page.locator('option[value="descending"]') });
await orderBox.selectOption('descending');
const readCosts = async () => (await column('cost')).map((v) => Number(v.replace(/,/g, '')));
const costs = await eventually(readCosts, descending);
check(descending(costs), `sorted by cost, descending: ${costs.slice(0, 5).join(', ')} ...`);
await orderBox.selectOption('ascending');
await selectByLabel('Sort by', 'name');
const natural = (v) => JSON.stringify(v) === JSON.stringify([...v].sort(
  (a, b) => a.localeCompare(b, 'en', { numeric: true, sensitivity: 'base' })));
const names = await eventually(() => column('name'), natural);
check(natural(names), `sorted by name, natural order: ${names.slice(0, 4).join(', ')} ...`);

// layout: which headers are inside the table's visible box, at each size
const measure = () => page.evaluate(() => {
  const box = document.querySelector('.mlreg-explorer .mlreg-scroll');
  const right = box.getBoundingClientRect().right;
  const heads = [...box.querySelectorAll('thead th')];
  const visible = heads.filter((h) => h.getBoundingClientRect().right <= right + 1).map((h) => h.textContent);
  const root = document.querySelector('.mlreg-explorer').getBoundingClientRect();
  const picker = document.querySelector('.mlreg-explorer .widget-select select').getBoundingClientRect();
  return { explorer: Math.round(root.width), box: Math.round(box.clientWidth),
    table: box.scrollWidth, hidden: heads.length - visible.length,
    pna: visible.includes('public network access'), sku: visible.includes('SKU tier'),
    pickerOverhang: Math.round(Math.max(0, picker.right - root.right)) };
});
for (const [w, h] of [[1440, 900], [1920, 1080]]) {
  await page.setViewportSize({ width: w, height: h });
  for (const browserOpen of lab ? [true, false] : [false]) {
    if (lab) {
      await page.evaluate((open) => {
        const shell = window.jupyterapp.shell;
        if (open) shell.activateById('filebrowser'); else shell.collapseLeft();
      }, browserOpen);
    }
    await page.waitForTimeout(700);
    const m = await measure();
    const name = `explorer-${w}x${h}-filebrowser-${browserOpen ? 'open' : 'closed'}.png`;
    await page.locator('.mlreg-explorer').evaluate((e) => e.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${shots}/top-${name}` });
    await page.locator('.mlreg-explorer .widget-select select').evaluate(
      (e) => e.scrollIntoView({ block: 'start' }));
    await page.waitForTimeout(300);
    await page.screenshot({ path: `${shots}/detail-${name}` });
    console.log(`     ${w}x${h} file browser ${browserOpen ? 'open  ' : 'closed'}: ${JSON.stringify(m)}`);
    check(m.pna && m.sku && m.pickerOverhang === 0,
      `${w}x${h}, file browser ${browserOpen ? 'open' : 'closed'}: public network access and SKU tier in view, picker inside`);
  }
}
// the costs and assets tabs of the picked registry
for (const tab of ['costs', 'assets', 'summary']) {
  await page.locator('.mlreg-explorer .lm-TabBar-tab', { hasText: new RegExp(`^${tab}$`) }).click();
  await page.waitForTimeout(400);
  await page.screenshot({ path: `${shots}/tab-${tab}-1920.png` });
}
await page.setViewportSize({ width: 1440, height: 900 });
await page.locator('.mlreg-explorer .lm-TabBar-tab', { hasText: /^costs$/ }).click();
await page.waitForTimeout(400);
const costsFit = await page.evaluate(() => {
  const view = [...document.querySelectorAll('.mlreg-explorer .widget-tab-contents .mlreg-scroll')]
    .find((b) => b.offsetParent && b.querySelector('caption')?.textContent.startsWith('cost in'));
  return view ? { box: view.clientWidth, table: view.scrollWidth } : null;
});
check(costsFit && costsFit.table <= costsFit.box, `the costs tab fits at 1440 (${JSON.stringify(costsFit)})`);
await page.screenshot({ path: `${shots}/tab-costs-1440.png` });
check(errors.length === 0, `no console errors (${errors.slice(0, 3).join(' | ')})`);
await browser.close();
console.log(`${failures.length ? 'FAILED' : 'passed'}: ${failures.length} failed checks; screenshots in ${shots}`);
process.exit(failures.length ? 1 : 0);
