"""Derives two small supervised sets from wolfSSL's C headers (Debian libwolfssl-dev), for
token classification and extractive QA where no package ships a tagged or SQuAD-format set.
Deterministic: files in sorted order, splits by SHA-1 of the item. Standard library only.

  tagging: each code line's words tagged by lexical class in IOB2 (KEYWORD, TYPE, FUNCTION,
           MACRO, NUMBER, STRING, COMMENT; punctuation and other identifiers O); a string or
           comment spanning several words is one entity.  -> wolfssl-tags/{split}.jsonl
  QA:      from enum constants and struct fields with a trailing /* comment */ and from
           one-line #defines: "What does NAME mean?" (answer: the comment), "What is NAME
           defined as?" (answer: the value); context: the surrounding lines of the header.
           -> wolfssl-qa/{split}.json (SQuAD v1.1 format)
usage: make_wolfssl_datasets.py INCLUDE_DIR OUT_DIR"""
import hashlib, json, os, re, sys

src, out = sys.argv[1], sys.argv[2]
files = []
for root, _, names in os.walk(src):
    files += [os.path.join(root, n) for n in names if n.endswith(".h")]
files.sort()

KEYWORDS = set("""auto break case char const continue default do double else enum extern float for goto if
inline int long register restrict return short signed sizeof static struct switch typedef union unsigned
void volatile while define include ifdef ifndef endif undef elif pragma defined""".split())
TYPES = set("""byte word16 word32 word64 size_t ssize_t uint8_t uint16_t uint32_t uint64_t int8_t int16_t
int32_t int64_t sword32 sword64 wolfSSL_Mutex WOLFSSL WOLFSSL_CTX WOLFSSL_METHOD WOLFSSL_SESSION
WOLFSSL_X509 WOLFSSL_BIO WOLFSSL_EVP_PKEY WOLFSSL_BIGNUM WC_RNG mp_int ecc_key RsaKey""".split())
LEX = re.compile(r"""(?P<comment>/\*.*?\*/|//.*$)|(?P<string>"(?:\\.|[^"\\])*")|(?P<char>'(?:\\.|[^'\\])*')
  |(?P<number>0[xX][0-9a-fA-F]+[uUlL]*|\d+(?:\.\d+)?[uUlLfF]*)|(?P<ident>[A-Za-z_]\w*)|(?P<punct>\S)""", re.X)

def split_hash(key):
    h = int(hashlib.sha1(key.encode()).hexdigest(), 16) % 10
    return "train" if h < 8 else ("validation" if h == 8 else "test")

def tag_line(line):
    toks = [(m.lastgroup, m.group()) for m in LEX.finditer(line)]
    words, tags = [], []
    for i, (kind, text) in enumerate(toks):
        nxt = toks[i + 1][1] if i + 1 < len(toks) else ""
        if kind in ("comment", "string"):
            parts = text.split()
            label = "COMMENT" if kind == "comment" else "STRING"
            for k, p in enumerate(parts):
                words.append(p); tags.append(("B-" if k == 0 else "I-") + label)
            continue
        if kind == "number" or kind == "char":
            label = "NUMBER"
        elif kind == "ident":
            if text in KEYWORDS: label = "KEYWORD"
            elif text in TYPES or text.endswith("_t"): label = "TYPE"
            elif nxt == "(": label = "FUNCTION"
            elif re.fullmatch(r"[A-Z][A-Z0-9_]+", text): label = "MACRO"
            else: label = None
        else:
            label = None
        words.append(text); tags.append("B-" + label if label else "O")
    return words, tags

tagging = {s: [] for s in ("train", "validation", "test")}
seen = set()
qa = {s: {} for s in ("train", "validation", "test")}
seen_q = set()
ENUM = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(-?[0-9A-Fa-fx]+|[A-Za-z_]\w*)\s*,?\s*/\*\s*(.+?)\s*\*/\s*$")
FIELD = re.compile(r"^\s+[A-Za-z_][\w\s\*]*?\b([A-Za-z_]\w*)(?:\[[^\]]*\])?(?::\d+)?\s*;\s*/\*\s*(.+?)\s*\*/\s*$")
DEFINE = re.compile(r"^#define\s+([A-Za-z_]\w*)\s+([^\s/\\][^/\\]*?)\s*(?:/\*.*\*/)?\s*$")
for path in files:
    rel = os.path.relpath(path, src)
    with open(path, encoding="utf-8", errors="replace") as f:
        lines = f.read().split("\n")
    for n, line in enumerate(lines):
        s = line.strip()
        if s and not s.startswith("*") and s not in seen:
            words, tags = tag_line(s)
            if 2 <= len(words) <= 64 and any(t != "O" for t in tags):
                seen.add(s)
                tagging[split_hash(s)].append({"id": f"{rel}:{n + 1}", "tokens": words, "ner_tags": tags})
        items = []
        m = ENUM.match(line)
        if m:
            items.append((f"What does {m.group(1)} mean?", m.group(3), line.index(m.group(3), line.index("/*"))))
            items.append((f"What is the value of {m.group(1)}?", m.group(2), line.index(m.group(2), line.index("="))))
        else:
            m = FIELD.match(line)
            if m:
                items.append((f"What is {m.group(1)} for?", m.group(2), line.index(m.group(2), line.index("/*"))))
            else:
                m = DEFINE.match(line)
                if m and len(m.group(2)) <= 60:
                    items.append((f"What is {m.group(1)} defined as?", m.group(2), line.index(m.group(2), len("#define ") + len(m.group(1)))))
        if not items:
            continue
        lo, hi = max(0, n - 10), min(len(lines), n + 11)
        context = "\n".join(lines[lo:hi])
        base = sum(len(l) + 1 for l in lines[lo:n])
        for q, a, col in items:
            if (q, a) in seen_q or not a.strip():
                continue
            seen_q.add((q, a))
            start = base + col
            assert context[start:start + len(a)] == a, (rel, n, q, a)
            split = split_hash(q + "\n" + context)
            paras = qa[split].setdefault(rel, [])
            paras.append({"context": context, "qas": [{"id": f"{rel}:{n + 1}:{len(paras)}", "question": q,
                          "answers": [{"text": a, "answer_start": start}]}]})

for name in ("wolfssl-tags", "wolfssl-qa"):
    os.makedirs(os.path.join(out, name), exist_ok=True)
for split, rows in tagging.items():
    with open(os.path.join(out, "wolfssl-tags", split + ".jsonl"), "w") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
for split, arts in qa.items():
    data = [{"title": t, "paragraphs": p} for t, p in sorted(arts.items())]
    with open(os.path.join(out, "wolfssl-qa", split + ".json"), "w") as f:
        json.dump({"version": "wolfssl-derived-1", "data": data}, f, ensure_ascii=False)
print("wolfssl tags:", {s: len(r) for s, r in tagging.items()},
      "qa:", {s: sum(len(p) for p in a.values()) for s, a in qa.items()})
