#!/usr/bin/python3
"""original_lookup.py - the original socketbox's lookup, written for socketbox's tests from
reading its lookup.c and config_parser.c (our own code), and a comparison with socketbox's
verdicts for the file that `socketbox --convert` made of the same configuration.

    original_lookup.py ORIGINAL CONVERTED SOCKETBOX [COUNT]
    original_lookup.py --random N SOCKETBOX DIR

Generates COUNT (default 300) connections from the addresses and ports ORIGINAL names,
asks `SOCKETBOX -c -f CONVERTED --match -` for all of them at once, and compares each
verdict with the original's. Prints the mismatches and exits 1 when there is one.

--random writes N random configurations in the original's format to DIR (up to five
rule-sets and three map-sets, drawn from a few addresses and ports so that entries overlap,
every token, jumps anywhere), converts each with `SOCKETBOX --convert`, and compares 100
connections of each the same way. A conversion may only be refused for a loop of jumps or
a chain past 100 sets, and at least half must convert.

The original, as read: every lookup starts in rule-set:0 and tries at most 100 sets. A
rule-set is tried entry by entry, first match wins, each entry comparing masked addresses
and ports; a map-set compares the connection with its entries under one mask (match-lip,
match-rip, match-lport, match-rport) and, where several entries share a key, finds any one
of them. A jump ends the lookup in the set it names; a set that does not exist, "fail", a
set without a default, and more than 100 sets all close the connection ("drop").
Only files that `socketbox --convert` accepts are read (exact tokens, numbers in range).
"""
import ipaddress
import random
import re
import subprocess
import sys

FULL = (1 << 128) - 1
MAX_LOOKUPS = 100


def plen_mask(n):
    return FULL ^ ((1 << (128 - n)) - 1)


def addr(s):
    return int(ipaddress.IPv6Address(s))


def prefix(s):
    """ip:ADDR[/LEN|/MASK] of a rule-set: (pattern, mask)."""
    a, _, m = s.partition('/')
    if not m:
        return addr(a), FULL
    if ':' in m:
        return addr(a), addr(m)
    return addr(a), plen_mask(int(m))


def action(name, val):
    if name == 'fail':
        return ('fail',)
    if name == 'jump-unix':
        return ('unix', val)
    if name == 'jump-fd':
        return ('fd', int(val))
    return ('rule' if name == 'jump-rule' else 'map', int(val))


def new_set():
    return {'entries': [], 'default': ('fail',), 'lmask': 0, 'rmask': 0,
            'lport': False, 'rport': False}


def parse(path):
    cfg = {'n': {'rule': 0, 'map': 0}, 'rule': {}, 'map': {}, 'addrs': set(), 'ports': set()}
    kind = cur = None
    default = False
    for line in open(path, encoding='latin-1'):
        line = line.rstrip('\n')
        if not line or line.startswith('#'):
            continue
        entry = None
        for tok in line.split():
            name, _, val = tok.partition(':')
            if name in ('max-rules', 'max-maps'):
                cfg['n'][name[4:-1]] = int(val)
            elif name in ('rule-set', 'map-set'):
                kind = name[:-4]
                cur = cfg[kind].setdefault(int(val), new_set())
                default = False
            elif name == 'default':
                default = True
            elif name in ('match-lip', 'match-rip'):
                cur['lmask' if name == 'match-lip' else 'rmask'] = plen_mask(int(val))
            elif name in ('match-lport', 'match-rport'):
                cur[name[6:]] = True
            elif name == 'size':
                pass
            elif name in ('fail', 'jump-unix', 'jump-fd', 'jump-rule', 'jump-map') and default:
                cur['default'] = action(name, val)
            else:
                if entry is None:
                    entry = {'la': 0, 'lm': 0, 'ra': 0, 'rm': 0, 'lp': 0, 'lpm': 0,
                             'rp': 0, 'rpm': 0, 'act': ('fail',)}
                    cur['entries'].append(entry)
                if name in ('ip', 'rip'):
                    k = 'l' if name == 'ip' else 'r'
                    if kind == 'map':
                        entry[k + 'a'] = addr(val)
                    else:
                        entry[k + 'a'], entry[k + 'm'] = prefix(val)
                    cfg['addrs'].add((entry[k + 'a'], entry[k + 'm'] or FULL))
                elif name in ('port', 'rport'):
                    k = 'lp' if name == 'port' else 'rp'
                    entry[k], entry[k + 'm'] = int(val), 0xffff
                    cfg['ports'].add(int(val))
                else:
                    entry['act'] = action(name, val)
    for s in cfg['map'].values():
        cfg['addrs'].update((e['la'], s['lmask'] or FULL) for e in s['entries'])
        cfg['addrs'].update((e['ra'], s['rmask'] or FULL) for e in s['entries'])
    return cfg


def rule_matches(e, c):
    return ((c[0] ^ e['la']) & e['lm']) == 0 and ((c[2] ^ e['ra']) & e['rm']) == 0 and \
        ((c[1] ^ e['lp']) & e['lpm']) == 0 and ((c[3] ^ e['rp']) & e['rpm']) == 0


def map_key(s, la, lp, ra, rp):
    return (la & s['lmask'], ra & s['rmask'], lp if s['lport'] else 0, rp if s['rport'] else 0)


def step(cfg, kind, n, c):
    """The actions set n of kind may give connection c: a list (several for a map key that
    several entries share)."""
    if n >= cfg['n'][kind]:
        return None
    s = cfg[kind].get(n, new_set())
    if kind == 'rule':
        for e in s['entries']:
            if rule_matches(e, c):
                return [e['act']]
        return [s['default']]
    key = map_key(s, *c)
    found = [e['act'] for e in s['entries']
             if map_key(s, e['la'], e['lp'], e['ra'], e['rp']) == key]
    return found or [s['default']]


def lookup(cfg, c, act=('rule', 0), tries=0):
    """Every verdict the original may give: ('drop',), ('unix', PATH) or ('fd', N)."""
    if tries == MAX_LOOKUPS:
        return {('drop',)}
    acts = step(cfg, act[0], act[1], c)
    if acts is None:
        return {('drop',)}
    out = set()
    for a in acts:
        if a[0] in ('rule', 'map'):
            out |= lookup(cfg, c, a, tries + 1)
        else:
            out.add(('drop',) if a[0] == 'fail' else a)
    return out


def near(rng, a, m):
    """An address under (a, m), or just beside it."""
    host = rng.getrandbits(128) & ~m & FULL
    v = (a & m) | host
    r = rng.random()
    if r < 0.25:
        return a
    if r < 0.5 and m:
        low = (m & -m).bit_length() - 1  # the last bit of the prefix
        return v ^ (1 << low)
    return v


def connections(cfg, count, seed):
    rng = random.Random(seed)
    addrs = sorted(cfg['addrs']) or [(0, 0)]
    ports = sorted(cfg['ports']) or [80]
    out = []
    for _ in range(count):
        la = near(rng, *rng.choice(addrs)) if rng.random() < 0.85 else rng.getrandbits(128)
        ra = near(rng, *rng.choice(addrs)) if rng.random() < 0.7 else rng.getrandbits(128)
        if rng.random() < 0.1:
            la = 0xffff00000000 | rng.getrandbits(32)
        lp = rng.choice(ports) + rng.choice((0, 0, 0, 1, -1)) if rng.random() < 0.8 \
            else rng.randrange(65536)
        rp = rng.choice(ports) if rng.random() < 0.4 else rng.randrange(65536)
        out.append((la, lp % 65536, ra, rp % 65536))
    return out


def targets(converted):
    """NAME -> ('unix', PATH) or ('fd', N), from the targets group as the converter writes
    it, one per line."""
    found = {}
    pat = re.compile(r'^  (\S+) = \{ (?:path = "((?:[^"\\]|\\.)*)"|fd = (\d+)); \};')
    for line in open(converted, encoding='latin-1'):
        m = pat.match(line)
        if m and m.group(3):
            found[m.group(1)] = ('fd', int(m.group(3)))
        elif m:
            path = re.sub(r'\\(.)', r'\1', m.group(2)).replace('%%', '%')
            found[m.group(1)] = ('unix', path)
    return found


POOL = ['2001:db8::1', '2001:db8::2', '2001:db8:0:1::5', '2001:db8:1::', '::ffff:192.0.2.1',
        '::ffff:192.0.2.200', '2001:db8:ff::9', '::']


def generate(rng):
    nrules, nmaps = rng.randint(1, 5), rng.randint(0, 3)
    out = ['max-rules:%d' % nrules] + (['max-maps:%d' % nmaps] if nmaps else [])

    def act():
        r = rng.random()
        if r < 0.15:
            return 'fail'
        if r < 0.4:
            return 'jump-unix:/run/x/%d.sock' % rng.randint(0, 6)
        if r < 0.5:
            return 'jump-fd:%d' % rng.randint(3, 6)
        if r < 0.75:
            return 'jump-rule:%d' % rng.randint(0, nrules)
        if r < 0.95:
            return 'jump-map:%d' % rng.randint(0, max(nmaps, 1))
        return ''

    def address(kind, lens):
        a = rng.choice(POOL)
        r = rng.random()
        if kind == 'rule' and r < 0.4:
            a += '/%d' % rng.choice(lens)
        elif kind == 'rule' and r < 0.5:
            a += '/ffff:ffff::'
        return a

    for kind, n in (('rule', nrules), ('map', nmaps)):
        for i in range(n):
            if rng.random() < 0.15:
                continue
            size = rng.randint(1, 6)
            out.append('%s-set:%d size:%d' % (kind, i, size))
            if kind == 'map':
                keys = []
                if rng.random() < 0.7:
                    keys.append('match-lip:%d' % rng.choice([0, 16, 48, 64, 96, 120, 128]))
                if rng.random() < 0.4:
                    keys.append('match-rip:%d' % rng.choice([0, 32, 64, 128]))
                if rng.random() < 0.5:
                    keys.append('match-lport')
                if rng.random() < 0.3:
                    keys.append('match-rport')
                if keys:
                    out.append(' '.join(keys))
            for _ in range(rng.randint(0, size)):
                t = []
                if rng.random() < 0.7:
                    t.append('ip:' + address(kind, [0, 16, 48, 64, 96, 104, 120, 127, 128]))
                if rng.random() < 0.4:
                    t.append('rip:' + address(kind, [0, 32, 64, 128]))
                if rng.random() < 0.5:
                    t.append('port:%d' % rng.choice([22, 80, 443]))
                if rng.random() < 0.3:
                    t.append('rport:%d' % rng.choice([1, 2, 3]))
                a = act()
                t += [a] if a else []
                out.append(' '.join(t or ['fail']))
            if rng.random() < 0.6:
                out.append('default ' + (act() or 'fail'))
    return '\n'.join(out) + '\n'


def compare(original, converted, socketbox, count):
    """Prints the mismatches and a summary line; returns how many there were, or -1."""
    cfg = parse(original)
    names = targets(converted)
    conns = connections(cfg, count, original)
    text = ''.join('%s %d %s %d\n' % (ipaddress.IPv6Address(la), lp, ipaddress.IPv6Address(ra), rp)
                   for la, lp, ra, rp in conns)
    res = subprocess.run([socketbox, '-c', '-f', converted, '--match', '-'], input=text,
                         capture_output=True, text=True, encoding='latin-1', timeout=60)
    lines = res.stdout.splitlines()
    if res.returncode != 0 or len(lines) != len(conns):
        print('socketbox --match - failed (%d, %d lines for %d): %s' %
              (res.returncode, len(lines), len(conns), res.stderr))
        return -1
    bad = 0
    kinds = {}
    for c, query, got in zip(conns, text.splitlines(), lines):
        want = lookup(cfg, c)
        word = got.split(' ')
        ours = ('drop',) if word[0] == 'drop' else names.get(word[1], ('?', word[1])) \
            if word[0] == 'target' else ('?', got)
        kinds[ours[0]] = kinds.get(ours[0], 0) + 1
        if ours not in want:
            bad += 1
            if bad <= 10:
                print('MISMATCH %s: original %s, socketbox %s' % (query, sorted(want), got))
    print('%s: %d connections, %d mismatches; socketbox verdicts by kind: %s' %
          (original, len(conns), bad, kinds))
    return bad


def random_configs(n, socketbox, where):
    converted = 0
    for seed in range(1, n + 1):
        original = '%s/random-%d.conf' % (where, seed)
        with open(original, 'w') as f:
            f.write(generate(random.Random(seed)))
        res = subprocess.run([socketbox, '--convert', original], capture_output=True,
                             text=True, encoding='latin-1', timeout=60)
        if res.returncode != 0:
            if not re.search('closes a loop of jumps|past 100 sets', res.stderr):
                print('%s refused: %s' % (original, res.stderr))
                return 1
            continue
        with open(original + '.out', 'w', encoding='latin-1') as f:
            f.write(res.stdout)
        if compare(original, original + '.out', socketbox, 100) != 0:
            return 1
        converted += 1
    print('%d of %d random configurations converted and keep their verdicts' % (converted, n))
    return 0 if 2 * converted >= n else 1


def main():
    if sys.argv[1] == '--random':
        return random_configs(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    count = int(sys.argv[4]) if len(sys.argv) > 4 else 300
    return 1 if compare(sys.argv[1], sys.argv[2], sys.argv[3], count) else 0


if __name__ == '__main__':
    sys.exit(main())
