#!/usr/bin/env python3
"""Fails when a file of the project names a path outside the project.

The documentation, comments and scripts speak of the project only: what a
user gets is the source tree, so a path into a sibling folder of the checkout,
an absolute path of some machine or a relative link that climbs out of the
tree points at nothing for them.

    check_project_only.py [SOURCE_DIR]
    check_project_only.py --self-test

Checks every tracked file (`git ls-files`; where SOURCE_DIR is not the top of
a git checkout, every file under it except .git and build folders, which are
the folders holding a CMakeCache.txt and the top-level build*/ ones). Binary
files are skipped. Exempt: the .ci/ folder (the CI machine's own
configuration) and this script. Every offending line is printed as
PATH:LINE: REASON: TEXT; the exit status is 1 when there is one, else 0.
--self-test checks the checker on a small tree it writes to a temporary
folder: every rule must catch its example and nothing else may be reported.

What counts as a path outside the project:
  - "../shared": the sibling folder "shared" of the checkout;
  - an absolute path into a machine's work or home folders: /work/...,
    /home/NAME, /root/, /Users/NAME;
  - "${PROJECT_SOURCE_DIR}/.." or "${CMAKE_SOURCE_DIR}/..": above the top of
    the project;
  - in documentation (*.md): "../..", and any relative path "../..." that,
    taken from the folder of the file, leads out of the source tree.
"""
import os
import re
import subprocess
import sys

EXEMPT_DIRS = (".ci/",)
SELF = "tests/project_only/check_project_only.py"

LINE_RULES = [
    (re.compile(r"\.\./shared(?![\w-])"), "a sibling folder of the checkout (../shared)"),
    (re.compile(r"(?<![\w.$}\-])/work/"), "an absolute path of a machine (/work/)"),
    (re.compile(r"(?<![\w.$}\-])/home/[A-Za-z0-9_.-]+"), "an absolute home path (/home/...)"),
    (re.compile(r"(?<![\w.$}\-])/root/"), "an absolute home path (/root/)"),
    (re.compile(r"(?<![\w.$}\-])/Users/[A-Za-z0-9_.-]+"), "an absolute home path (/Users/...)"),
    (re.compile(r"\$\{(?:PROJECT|CMAKE)_SOURCE_DIR\}/\.\.(?![\w.])"), "a path above the top of the project"),
]
DOC_CLIMB = re.compile(r"\.\./\.\.")
DOC_RELATIVE = re.compile(r"(?<![\w./-])((?:\.\./)+[^\s)\]`'\"<>|,;]*)")


def tracked_files(root):
    try:
        top = subprocess.run(["git", "-C", root, "rev-parse", "--show-toplevel"], capture_output=True,
                             text=True, check=True).stdout.strip()
        if os.path.realpath(top) == os.path.realpath(root):
            out = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True, check=True).stdout
            return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]
    except (OSError, subprocess.CalledProcessError):
        pass
    files = []
    for folder, dirs, names in os.walk(root):
        rel_folder = os.path.relpath(folder, root)
        keep = []
        for d in dirs:
            path = os.path.join(folder, d)
            if d == ".git" or (rel_folder == "." and d.startswith("build")):
                continue
            if os.path.exists(os.path.join(path, "CMakeCache.txt")):
                continue
            keep.append(d)
        dirs[:] = sorted(keep)
        for n in sorted(names):
            files.append(os.path.normpath(os.path.join(rel_folder, n)))
    return files


def leaves_tree(doc_path, target):
    folder = os.path.dirname(doc_path)
    resolved = os.path.normpath(os.path.join(folder, target))
    return resolved == ".." or resolved.startswith("../")


def check(root):
    problems = []
    for rel in tracked_files(root):
        rel = rel.replace(os.sep, "/")
        if rel == SELF or any(rel.startswith(d) for d in EXEMPT_DIRS):
            continue
        path = os.path.join(root, rel)
        if not os.path.isfile(path):
            continue  # deleted in the working tree, or a submodule
        with open(path, "rb") as f:
            data = f.read()
        if b"\0" in data:
            continue  # binary
        text = data.decode("utf-8", "replace")
        is_doc = rel.endswith(".md")
        for number, line in enumerate(text.splitlines(), 1):
            reasons = [reason for rule, reason in LINE_RULES if rule.search(line)]
            if is_doc:
                if DOC_CLIMB.search(line):
                    reasons.append("documentation climbing out with ../..")
                else:
                    for m in DOC_RELATIVE.finditer(line):
                        if leaves_tree(rel, m.group(1)):
                            reasons.append("documentation naming " + m.group(1) + ", outside the source tree")
                            break
            for reason in reasons:
                problems.append("%s:%d: %s: %s" % (rel, number, reason, line.strip()))
    return problems


def self_test():
    import tempfile
    bad = {
        "docs/a.md": ["see ../shared/notes/x.md", "or ../../elsewhere/y", "`../../../z`"],
        "docs/b.md": ["[up](../../README.md)"],
        "README.md": ["[out](../other/file.md)"],
        "tools/x.cpp": ["// generated by /work/tool", "// from /home/someone/src", "// /root/.cache"],
        "tests/CMakeLists.txt": ["set(x ${PROJECT_SOURCE_DIR}/../y)", "set(y ${CMAKE_SOURCE_DIR}/..)"],
        "run.sh": ["cp /Users/me/a b"],
    }
    good = {
        "docs/c.md": ["[readme](../README.md) and ../docs/c.md", "/tmp/traces, build/work/x, ${HOME}/.cargo"],
        "tests/fuzz/CMakeLists.txt": ["get_filename_component(root ${CMAKE_CURRENT_SOURCE_DIR}/../.. ABSOLUTE)"],
        "tests/run.sh": ['cd "$(dirname "$0")/../.."', "a/root/b and network/work/ are not absolute"],
        ".ci/run": ["peers=$(cd ../.. && pwd)/shared/peers ../shared /work/x"],
        "tools/y.cpp": ["// ../sharedlib is another name"],
    }
    with tempfile.TemporaryDirectory() as root:
        for files in (bad, good):
            for rel, lines in files.items():
                path = os.path.join(root, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write("\n".join(lines) + "\n")
        with open(os.path.join(root, "image.png"), "wb") as f:
            f.write(b"\x89PNG\0/work/ ../shared")
        os.makedirs(os.path.join(root, "build-x"))
        with open(os.path.join(root, "build-x", "CMakeCache.txt"), "w") as f:
            f.write("/home/someone/build\n")
        os.makedirs(os.path.join(root, "sub", "out"))
        with open(os.path.join(root, "sub", "out", "CMakeCache.txt"), "w") as f:
            f.write("/work/x\n")
        problems = check(root)
    failed = False
    for rel, lines in bad.items():
        for number in range(1, len(lines) + 1):
            if not any(p.startswith("%s:%d:" % (rel, number)) for p in problems):
                print("self-test: %s line %d (%s) was not reported" % (rel, number, lines[number - 1]))
                failed = True
    for p in problems:
        if p.split(":", 1)[0] not in bad:
            print("self-test: reported wrongly: " + p)
            failed = True
    print("self-test " + ("failed" if failed else "passed") + " (%d report(s))" % len(problems))
    return 1 if failed else 0


def main(argv):
    if len(argv) > 1 and argv[1] == "--self-test":
        return self_test()
    root = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        print("check_project_only: %s is not a folder" % root, file=sys.stderr)
        return 2
    problems = check(root)
    for p in problems:
        print(p)
    if problems:
        print("%d line(s) name paths outside the project (docs, comments and scripts speak of the "
              "project only)" % len(problems), file=sys.stderr)
        return 1
    print("no file names a path outside the project")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
