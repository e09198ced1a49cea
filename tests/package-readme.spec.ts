/**
 * The README as npm shows it (from the tarball): every relative link points at a file the
 * package ships (`package.json` `files`), in the README and in the docs it ships; links into
 * the repository use the one GitHub home that `repository`, `homepage` and `bugs` name.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { expect, test } from '@playwright/test';

interface PackageJson {
  readonly files: readonly string[];
  readonly homepage: string;
  readonly repository: { readonly type: string; readonly url: string };
  readonly bugs: { readonly url: string };
}
const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as PackageJson;
/** npm packs these whatever `files` says. */
const kAlwaysPacked = ['package.json', 'README.md', 'LICENSE'];

/** True where `path` (from the repository root) is in the tarball by `files`. */
function shipped(path: string): boolean {
  if (kAlwaysPacked.includes(path)) return true;
  return pkg.files.some((entry) => {
    const star = /^(.*\/)\*(\.[a-z]+)$/.exec(entry);
    if (star) return path.startsWith(star[1]!) && !path.slice(star[1]!.length).includes('/') && path.endsWith(star[2]!);
    return path === entry || path.startsWith(`${entry}/`);
  });
}

/** Markdown link and image targets of `file`, without their #anchors. */
function links(file: string): string[] {
  const text = readFileSync(file, 'utf8').replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!);
}

test('every relative link of the README and the docs it ships points at a shipped file', () => {
  const checked: string[] = [];
  const queue = ['README.md'];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    for (const target of links(file)) {
      if (/^[a-z]+:/i.test(target) || target.startsWith('#')) continue;
      const path = normalize(join(dirname(file), target.replace(/#.*$/, '')));
      expect(existsSync(path), `${file} links ${target}: no such file`).toBe(true);
      expect(shipped(path), `${file} links ${path}, which package.json "files" leaves out of the tarball`).toBe(true);
      if (path.endsWith('.md') && !checked.includes(path) && !queue.includes(path)) queue.push(path);
      checked.push(path);
    }
  }
  expect(checked).toEqual(expect.arrayContaining(['docs/formats.md', 'docs/weights-format.md', 'docs/performance.md', 'weights/README.md']));
});

test('repository, homepage and bugs name one GitHub home, and the README links into no other', () => {
  const home = 'https://github.com/lenet5-webgpu/lenet5-webgpu';
  expect(pkg.repository).toEqual({ type: 'git', url: `git+${home}.git` });
  expect(pkg.homepage).toBe(`${home}#readme`);
  expect(pkg.bugs.url).toBe(`${home}/issues`);
  // The screenshots are relative links to files the package ships (the test above), so they
  // show in the repository, in node_modules and on npm (which resolves them through
  // `repository`); any absolute link into GitHub names this home.
  for (const target of links('README.md').filter((t) => /github(usercontent)?\.com/.test(t))) {
    expect([home, home.replace('github.com', 'raw.githubusercontent.com')].some((base) => target.startsWith(`${base}/`)), target).toBe(true);
  }
  expect(links('README.md')).toEqual(expect.arrayContaining(['docs/screenshot.png', 'docs/bench-chart.png']));
});
