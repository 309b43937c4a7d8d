"""Every relative link in README.md, docs/ and the config folders'
README.md files resolves inside the repo."""
import glob
import os.path as osp
import re

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

# [text](target) and ![alt](target), target without spaces, optional title.
_INLINE = re.compile(r'!?\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)')
# [label]: target
_REFERENCE = re.compile(r'^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)', re.M)
_FENCE = re.compile(r'^\s*(```|~~~)')
_EXTERNAL = re.compile(r'^[a-zA-Z][a-zA-Z0-9+.-]*:')  # http:, mailto:, ...


def markdown_files():
    files = [osp.join(ROOT, 'README.md')]
    files += sorted(
        glob.glob(osp.join(ROOT, 'docs', '**', '*.md'), recursive=True))
    files += sorted(glob.glob(osp.join(ROOT, 'configs', '*', 'README.md')))
    return files


def prose_lines(path, strip_code=True):
    """(line number, text) outside fenced code blocks (and inline code)."""
    inside = False
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            if _FENCE.match(line):
                inside = not inside
                continue
            if not inside:
                yield number, re.sub(r'`[^`]*`', '', line) \
                    if strip_code else line


def links(path):
    for number, line in prose_lines(path):
        for pattern in (_INLINE, _REFERENCE):
            for match in pattern.finditer(line):
                yield number, match.group(1)


def github_anchor(heading):
    """The anchor GitHub gives a heading."""
    text = re.sub(r'[`*_]', '', heading.strip().lower())
    text = re.sub(r'[^\w\- ]', '', text)
    return text.replace(' ', '-')


def anchors(path):
    found = set()
    for _, line in prose_lines(path, strip_code=False):
        match = re.match(r'^#{1,6}\s+(.*?)\s*#*\s*$', line)
        if match:
            found.add(github_anchor(match.group(1)))
    return found


def test_link_checker_sees_links_and_anchors(tmp_path):
    page = tmp_path / 'page.md'
    page.write_text('# A `code` Title\n[a](b.md#x) ![i](img/p.png "t")\n'
                    '```\n[not](a/link.md)\n```\n[ref]: ../c.md\n'
                    '[web](https://example.org)\n')
    assert [t for _, t in links(str(page))] == [
        'b.md#x', 'img/p.png', '../c.md', 'https://example.org'
    ]
    assert anchors(str(page)) == {'a-code-title'}


@pytest.mark.parametrize(
    'path', markdown_files(), ids=lambda p: osp.relpath(p, ROOT))
def test_relative_links_resolve(path):
    assert osp.isfile(path), path
    broken = []
    for number, target in links(path):
        if _EXTERNAL.match(target):
            continue
        file_part, _, anchor = target.partition('#')
        file_part = file_part.split('?')[0]
        where = f'{osp.relpath(path, ROOT)}:{number}: {target}'
        resolved = osp.normpath(osp.join(osp.dirname(path), file_part)) \
            if file_part else path
        if not resolved.startswith(ROOT + osp.sep):
            broken.append(f'{where} (outside the repository)')
        elif not osp.exists(resolved):
            broken.append(f'{where} (no such file)')
        elif anchor and resolved.endswith('.md') and \
                anchor not in anchors(resolved):
            broken.append(f'{where} (no heading #{anchor})')
    assert not broken, 'broken links:\n' + '\n'.join(broken)


def test_docs_are_linked_from_the_readme():
    readme = {
        osp.normpath(osp.join(ROOT, t.partition('#')[0]))
        for _, t in links(osp.join(ROOT, 'README.md'))
    }
    pages = glob.glob(osp.join(ROOT, 'docs', '**', '*.md'), recursive=True)
    assert pages, 'no docs pages'
    missing = [osp.relpath(p, ROOT) for p in pages if p not in readme]
    assert not missing, f'docs pages not linked from README.md: {missing}'
