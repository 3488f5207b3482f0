#!/usr/bin/env python3
"""List every GUC pg_architect defines, read from the DefineCustom*Variable
calls in src/, as a Markdown table (name, type, default, range, unit, context,
short description).

    scripts/guc-reference.py                 # print the table
    scripts/guc-reference.py --check FILE    # exit 1 if a GUC is missing from FILE

doc/configuration.md is written from this output; the --check mode keeps it
complete when a GUC is added."""
import glob
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTEXT = {
    "PGC_POSTMASTER": "restart",
    "PGC_SIGHUP": "reload",
    "PGC_SUSET": "superuser",
    "PGC_USERSET": "user",
    "PGC_BACKEND": "connection start",
    "PGC_SU_BACKEND": "connection start (superuser)",
}


def split_args(s):
    """Split a C argument list at top-level commas, keeping string literals whole."""
    args, depth, cur, i = [], 0, "", 0
    while i < len(s):
        c = s[i]
        if c == '"':
            j = i + 1
            while s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            cur += s[i:j + 1]
            i = j + 1
            continue
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        if c == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
        i += 1
    args.append(cur.strip())
    return args


def unquote(a):
    if a == "NULL":
        return ""
    return "".join(re.findall(r'"((?:[^"\\]|\\.)*)"', a))


def gucs():
    out = []
    for path in sorted(glob.glob(os.path.join(ROOT, "src", "*", "*.c"))):
        text = open(path, encoding="utf-8").read()
        text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
        for m in re.finditer(r"DefineCustom(Bool|Int|Real|Enum|String)Variable\s*\(", text):
            kind = m.group(1)
            depth, j = 1, m.end()
            while depth:
                if text[j] == '"':
                    j += 1
                    while text[j] != '"':
                        j += 2 if text[j] == "\\" else 1
                elif text[j] == "(":
                    depth += 1
                elif text[j] == ")":
                    depth -= 1
                j += 1
            a = split_args(text[m.end():j - 1])
            g = {"name": unquote(a[0]), "type": kind.lower(), "short": unquote(a[1]),
                 "long": unquote(a[2]), "file": os.path.relpath(path, ROOT)}
            if kind in ("Int", "Real"):
                g.update(default=a[4], range=f"{a[5]} … {a[6]}", context=a[7], flags=a[8])
            elif kind == "Enum":
                g.update(default=a[4], range=f"({a[5]})", context=a[6], flags=a[7])
            else:
                g.update(default=a[4], range="", context=a[5], flags=a[6])
            unit = re.search(r"GUC_UNIT_(\w+)", g["flags"])
            g["unit"] = unit.group(1).lower() if unit else ""
            g["context"] = CONTEXT.get(g["context"], g["context"])
            out.append(g)
    return out


def main():
    found = gucs()
    if len(sys.argv) == 3 and sys.argv[1] == "--check":
        doc = open(sys.argv[2], encoding="utf-8").read()
        missing = [g["name"] for g in found if f"`{g['name']}`" not in doc]
        for n in missing:
            print(f"{sys.argv[2]}: GUC {n} is not documented", file=sys.stderr)
        print(f"{len(found)} GUCs defined in src/, {len(missing)} missing from {sys.argv[2]}")
        sys.exit(1 if missing else 0)
    print("| GUC | type | default (C) | range (C) | unit | context | defined in | description (C) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for g in found:
        print(f"| `{g['name']}` | {g['type']} | `{g['default']}` | {g['range']} | {g['unit']} | "
              f"{g['context']} | {g['file']} | {g['short']} {g['long']} |")


if __name__ == "__main__":
    main()
