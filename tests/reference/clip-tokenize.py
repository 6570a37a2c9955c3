#!/usr/bin/python3
"""The reference for Quorum's CLIP tokenizer (tests/test-clip.c): OpenAI's own simple_tokenizer.py
(../shared/models/clip/reference, MIT) on each text of a JSON list read from stdin; prints one JSON
list of token ids per text. ftfy (not packaged by Debian) is stood in by the identity: its fix_text
only repairs mis-decoded Unicode, and the tests' texts are well-formed."""
import json
import sys
import types

sys.modules["ftfy"] = types.SimpleNamespace(fix_text=lambda text: text)
sys.path.insert(0, sys.argv[1])                        # …/models/clip/reference
import simple_tokenizer                                # noqa: E402

tok = simple_tokenizer.SimpleTokenizer(sys.argv[2])   # …/bpe_simple_vocab_16e6.txt.gz
if len(sys.argv) > 3:
    # the same vocabulary as a Hugging Face tokenizer.json (model.vocab, model.merges)
    ranks = sorted(tok.bpe_ranks.items(), key=lambda kv: kv[1])
    with open(sys.argv[3], "w") as f:
        json.dump({"model": {"type": "BPE", "vocab": tok.encoder,
                             "merges": [" ".join(pair) for pair, _ in ranks]}}, f)
    sys.exit(0)
for text in json.load(sys.stdin):
    print(json.dumps(tok.encode(text)))
