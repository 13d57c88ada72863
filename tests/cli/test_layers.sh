#!/bin/bash
# tests/cli/test_layers.sh — docs/ARCHITECTURE.md's layer table is true:
# every library module is in exactly one layer, and no module (its .c or
# its header) includes a module of a later layer.
. "$(dirname "$0")/lib.sh"
/usr/bin/python3 - "$ROOT" > "$TMP/layers.tap" <<'PY'
import pathlib, re, sys
root = pathlib.Path(sys.argv[1])
doc = (root / 'docs/ARCHITECTURE.md').read_text()
section = doc[doc.index('## 3.'):doc.index('## 4.')]
layer, order, twice = {}, [], []
for m in re.finditer(r'^\| (\w+) \| ([^|]+) \|', section, re.M):
    name, mods = m.group(1), m.group(2)
    if name == 'layer':
        continue
    order.append(name)
    for mod in mods.replace('(+', ',').replace(')', ',').split(','):
        mod = mod.strip().removesuffix('.h')
        if not mod:
            continue
        if mod in layer:
            twice.append(mod)
        layer[mod] = len(order) - 1
n = 0
def ok(cond, what):
    global n
    n += 1
    print(('ok ' if cond else 'not ok ') + f'{n} - {what}')
libs = sorted(p.stem for p in (root / 'tools/lib').glob('*.c'))
missing = [m for m in libs if m not in layer]
ok(not missing, f'every library module is in the layer table ({len(libs)} modules; missing: {missing})')
ok(not twice, f'no module is in two layers {twice}')
bad = []
for m in libs:
    for f in [root / 'tools/lib' / f'{m}.c', root / 'include/agentomics' / f'{m}.h']:
        if not f.exists():
            continue
        for dep in re.findall(r'#include "agentomics/([a-z_]+)\.h"', f.read_text()):
            if dep in layer and m in layer and layer[dep] > layer[m]:
                bad.append(f'{f.relative_to(root)} ({order[layer[m]]}) includes {dep} ({order[layer[dep]]})')
ok(not bad, 'no module includes a module of a later layer' + ('' if not bad else ': ' + '; '.join(bad)))
ok(len(order) >= 5, f'the table has its layers: {", ".join(order)}')
print(f'1..{n}')
PY
cat "$TMP/layers.tap"
grep -q '^not ok' "$TMP/layers.tap" && exit 1 || exit 0
