# Regenerates the variant tokenizer.json files and reference.json with Hugging Face `tokenizers`
# (pip install tokenizers). Run from this directory: python3 generate_reference.py
import json
from tokenizers import Tokenizer, __version__


def b2u():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


M = b2u()


def bl_vocab():
    v = {M[b]: b for b in range(256)}
    for t in ["Ġt", "he", "Ġthe", "ll", "in", "ing", "Ġw", "or", "Ġwor", "ld", "Ġworld", "12", "123"]:
        v[t] = len(v)
    return v


BL_MERGES = ["Ġ t", "h e", "Ġt he", "l l", "i n", "in g", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld", "1 2", "12 3"]


def spm_vocab():
    v = {"<unk>": 0, "<s>": 1, "</s>": 2}
    for b in range(256):
        v["<0x%02X>" % b] = len(v)
    for c in "▁" + "".join(chr(i) for i in range(33, 127)):
        if c not in v:
            v[c] = len(v)
    for t in ["▁t", "th", "▁th", "he", "▁the", "in", "ing", "▁a", "an", "and", "▁and", "▁▁"]:
        v[t] = len(v)
    return v


SPM_MERGES = ["▁ t", "t h", "▁t h", "h e", "▁th e", "i n", "in g", "▁ a", "a n", "an d", "▁ and", "▁ ▁"]


def spm_added():
    return [{"id": i, "content": c, "single_word": False, "lstrip": False, "rstrip": False, "normalized": False,
             "special": True} for i, c in enumerate(["<unk>", "<s>", "</s>"])]


def bpe(vocab, merges, unk, byte_fallback, fuse_unk):
    return {"type": "BPE", "dropout": None, "unk_token": unk, "continuing_subword_prefix": None,
            "end_of_word_suffix": None, "fuse_unk": fuse_unk, "byte_fallback": byte_fallback,
            "ignore_merges": False, "vocab": vocab, "merges": merges}


V = {
    "gpt2style": {
        "version": "1.0",
        "added_tokens": [{"id": 269, "content": "<|endoftext|>", "single_word": False, "lstrip": False, "rstrip": False,
                          "normalized": False, "special": True}],
        "normalizer": None,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "post_processor": None,
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": bpe(bl_vocab(), BL_MERGES, None, False, False)},
    "metaspace_always": {
        "version": "1.0", "added_tokens": spm_added(), "normalizer": None,
        "pre_tokenizer": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": False},
        "post_processor": None,
        "decoder": {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "always", "split": False},
        "model": bpe(spm_vocab(), SPM_MERGES, "<unk>", True, True)},
    "split_behaviors": {
        "version": "1.0", "added_tokens": spm_added(), "normalizer": None,
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "[0-9]"}, "behavior": "Isolated", "invert": False},
            {"type": "Split", "pattern": {"String": "-"}, "behavior": "MergedWithNext", "invert": False},
            {"type": "Split", "pattern": {"Regex": "\\s+"}, "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": {"String": "."}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Split", "pattern": {"String": "!"}, "behavior": "Contiguous", "invert": False}]},
        "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [{"type": "ByteFallback"}, {"type": "Fuse"}]},
        "model": bpe(spm_vocab(), SPM_MERGES, "<unk>", True, False)},
    "normalizers": {
        "version": "1.0",
        "added_tokens": spm_added() + [{"id": len(spm_vocab()) + 1, "content": "<Tool>", "single_word": False, "lstrip": False,
                                        "rstrip": False, "normalized": True, "special": False}],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFKC"}, {"type": "Lowercase"},
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "},
            {"type": "Strip", "strip_left": True, "strip_right": True},
            {"type": "Prepend", "prepend": "▁"},
            {"type": "Replace", "pattern": {"String": " "}, "content": "▁"}]},
        "pre_tokenizer": None, "post_processor": None,
        "decoder": {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
        "model": bpe(dict(spm_vocab(), **{"<tool>": len(spm_vocab())}), SPM_MERGES, "<unk>", True, False)},
}

STRINGS = ["", "  ", "the thing and", "Hello World  ", "A-b-c 1-2.3!! x!!!y", "ﬁne Ｆｕｌｌ　ｗｉｄｔｈ",
           "tab\tnew\nline\r\n end", "héllo 😀 中文 é", "<s>the</s> and <|endoftext|>", "I'LL  go... 12345 ok?!",
           "  leading", "trailing  ", "x<Tool>y <tool> z", "— dash – and … ellipsis", "\u00a0nbsp\u2003em"]

cases = {}
for name, tj in V.items():
    with open(name + ".json", "w") as f:
        json.dump(tj, f, ensure_ascii=False, indent=1)
    t = Tokenizer.from_file(name + ".json")
    rows = []
    for s in STRINGS:
        t.encode_special_tokens = False
        ids = t.encode(s, add_special_tokens=False).ids
        t.encode_special_tokens = True
        plain = t.encode(s, add_special_tokens=False).ids
        rows.append({"text": s, "parse_special": ids, "plain": plain,
                     "decode_plain": t.decode(plain, skip_special_tokens=False),
                     "decode_parsed": t.decode(ids, skip_special_tokens=False),
                     "decode_parsed_skip": t.decode(ids, skip_special_tokens=True)})
    cases[name] = rows
with open("reference.json", "w") as f:
    json.dump({"generator": "Hugging Face tokenizers " + __version__ + ": encode(text, add_special_tokens=False).ids "
               "(plain: encode_special_tokens=True); decode(ids, skip_special_tokens)", "cases": cases},
              f, ensure_ascii=False, indent=1)
