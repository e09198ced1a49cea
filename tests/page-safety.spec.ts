/**
 * Static checks of everything the pages run (index.html, bench.html, train.html, the test harness, their
 * scripts under pages/ and e2e/, and the library in src/ and shaders/): no HTML built from
 * strings (innerHTML and kin), no code built from strings (eval, new Function, string timers),
 * no inline scripts or event-handler attributes (the Content-Security-Policy forbids them), no
 * resource from another origin, and the policy itself present in every page.
 *
 * The runtime side (every request same-origin, no policy violation) is e2e/reliability-csp.spec.ts.
 */
import { expect, test } from '@playwright/test';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const kPages = ['index.html', 'bench.html', 'train.html', 'e2e/harness.html'];
const kScriptRoots = ['pages', 'src', 'shaders', 'e2e/harness.ts', 'e2e/compare.ts', 'e2e/reliability-page.ts'];
/**
 * Library code that never runs in a page: the Node trainer's file reading and worker threads
 * (the rest of src/train/ runs in the training page's worker).
 */
const kNodeOnly = [/^src\/train\/(mnist|parallel|worker|trainer)\.ts$/];

/** Every .ts file under the given roots (files or folders). */
function scriptsUnder(roots: readonly string[]): string[] {
  const out: string[] = [];
  const walk = (path: string) => {
    if (statSync(path).isDirectory()) for (const name of readdirSync(path).sort()) walk(join(path, name));
    else if (path.endsWith('.ts')) out.push(path);
  };
  for (const root of roots) if (existsSync(root)) walk(root);
  return out.filter((path) => !kNodeOnly.some((pattern) => pattern.test(path)));
}

/** Source with comments blanked (naive, enough for these patterns: comments may mention them). */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, ' ').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
}

interface Rule {
  readonly name: string;
  readonly pattern: RegExp;
}

const kScriptRules: Rule[] = [
  { name: 'HTML from a string (innerHTML/outerHTML)', pattern: /\.(inner|outer)HTML\b/ },
  { name: 'HTML from a string (insertAdjacentHTML)', pattern: /insertAdjacentHTML/ },
  { name: 'HTML from a string (document.write)', pattern: /document\.write(ln)?\s*\(/ },
  { name: 'HTML from a string (DOMParser/createContextualFragment)', pattern: /DOMParser|createContextualFragment/ },
  { name: 'HTML from a string (srcdoc)', pattern: /\.srcdoc\b/ },
  { name: 'code from a string (eval)', pattern: /(^|[^\w.])eval\s*\(/ },
  { name: 'code from a string (new Function)', pattern: /new\s+Function\s*\(/ },
  { name: 'code from a string (string timer)', pattern: /set(Timeout|Interval)\s*\(\s*['"`]/ },
  { name: 'a javascript: URL', pattern: /javascript:/i },
  { name: 'a resource from another origin', pattern: /(import|from|fetch\(|new URL\(|src\s*=|href\s*=)\s*['"`]https?:\/\//i },
];

const kHtmlRules: Rule[] = [
  { name: 'an inline script', pattern: /<script(?![^>]*\bsrc=)[^>]*>/i },
  { name: 'an inline event handler attribute', pattern: /<[^>]+\son[a-z]+\s*=/i },
  { name: 'a javascript: URL', pattern: /javascript:/i },
  { name: 'a resource from another origin', pattern: /(src|href|action)\s*=\s*["']?(https?:)?\/\//i },
];

function violations(files: readonly string[], rules: readonly Rule[], strip: (s: string) => string): string[] {
  const found: string[] = [];
  for (const file of files) {
    const lines = strip(readFileSync(file, 'utf8')).split('\n');
    lines.forEach((line, i) => {
      for (const rule of rules) if (rule.pattern.test(line)) found.push(`${file}:${i + 1}: ${rule.name}: ${line.trim().slice(0, 120)}`);
    });
  }
  return found;
}

test('page scripts build no HTML or code from strings and load nothing from other origins', () => {
  const files = scriptsUnder(kScriptRoots);
  expect(files.length).toBeGreaterThan(20);
  expect(files).toContain('src/index.ts');
  const found = violations(files, kScriptRules, withoutComments);
  expect(found, found.join('\n')).toEqual([]);
});

test('pages have no inline scripts, no inline handlers and no foreign resources', () => {
  const found = violations(kPages, kHtmlRules, (s) => s.replace(/<!--[\s\S]*?-->/g, ' '));
  expect(found, found.join('\n')).toEqual([]);
});

test("every page declares the Content-Security-Policy: 'self' only, no inline or eval'd script", () => {
  for (const page of kPages) {
    const html = readFileSync(page, 'utf8');
    const meta = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/i.exec(html);
    expect(meta, `${page}: no <meta http-equiv="Content-Security-Policy">`).not.toBeNull();
    const directives = new Map(meta![1]!.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name!, values]));
    expect(directives.get('default-src'), page).toEqual(["'self'"]);
    expect(directives.get('script-src'), page).toEqual(["'self'", "'wasm-unsafe-eval'"]);
    expect(directives.get('object-src'), page).toEqual(["'none'"]);
    expect(directives.get('base-uri'), page).toEqual(["'none'"]);
    for (const [name, values] of directives) {
      for (const value of values) {
        expect(value, `${page} ${name}`).not.toMatch(/^(https?:|\*|'unsafe-eval'|'strict-dynamic')/);
        if (name !== 'style-src') expect(value, `${page} ${name}`).not.toBe("'unsafe-inline'");
      }
    }
    // The policy must come before any script or stylesheet it is meant to govern.
    const first = html.search(/<(script|link)\b/i);
    expect(meta!.index, `${page}: the policy comes after a script or stylesheet`).toBeLessThan(first < 0 ? Infinity : first);
  }
});

test('the static rules catch what they are meant to (self-check on known-bad lines)', () => {
  const bad = [
    "el.innerHTML = name;",
    "el.insertAdjacentHTML('beforeend', s)",
    "const f = new Function('a', body);",
    "eval(text)",
    "setTimeout('run()', 10)",
    "import x from 'https://cdn.example.com/x.js'",
    "await fetch('http://example.com/w.safetensors')",
  ];
  for (const line of bad) expect(kScriptRules.some((r) => r.pattern.test(withoutComments(line))), line).toBe(true);
  const fine = ['el.textContent = name;', 'evaluate(x)', "// el.innerHTML is never used", 'const retrieval = 1;'];
  for (const line of fine) expect(kScriptRules.some((r) => r.pattern.test(withoutComments(line))), line).toBe(false);
  const badHtml = ['<script>alert(1)</script>', '<form onsubmit="return false">', '<script src="https://cdn.x/y.js"></script>'];
  for (const line of badHtml) expect(kHtmlRules.some((r) => r.pattern.test(line)), line).toBe(true);
  expect(kHtmlRules.some((r) => r.pattern.test('<script type="module" src="./pages/demo/main.ts"></script>'))).toBe(false);
});
