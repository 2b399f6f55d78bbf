"""Tree-sitter's C parser on the files `loom-bench cage` checks, to judge the tree-sitter route for the cage's C
analyser (issue 20): CPU and wall time of a bare parse (no analysis), and how many files come out with ERROR nodes
(tree-sitter does not expand macros, so wolfSSL's WOLFSSL_API-style declarations confuse it).

Needs the PyPI packages tree-sitter and tree-sitter-c (pip install tree-sitter tree-sitter-c in any venv).
Usage: python bench/cage/treesitter_parse.py [repeats]
"""

import glob
import sys
import time

import tree_sitter
import tree_sitter_c


def files():
    found = glob.glob("/usr/include/wolfssl/**/*.h", recursive=True)
    found += glob.glob("/usr/include/cyassl/**/*.h", recursive=True)
    found += glob.glob("/usr/share/doc/libwolfssl-dev/examples/*.c")
    return sorted(found)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    parser = tree_sitter.Parser(tree_sitter.Language(tree_sitter_c.language()))
    data = [open(path, "rb").read() for path in files()]
    for _ in range(repeats):
        cpu, wall = time.process_time(), time.time()
        with_errors = sum(parser.parse(d).root_node.has_error for d in data)
        print(
            f"tree-sitter-c: {len(data)} files, {sum(map(len, data))} bytes: cpu {time.process_time() - cpu:.3f} s, "
            f"wall {time.time() - wall:.3f} s, files with ERROR nodes {with_errors}"
        )


if __name__ == "__main__":
    main()
