#!/usr/bin/python3
"""make-lexicon.py: writes resources/lexicon.tsv, the words Quorum's zero-shot text scorer maps to
COCO's classes, from WordNet 3.0 as Debian's wordnet-base installs it (/usr/share/wordnet).

Run it again when the class list or the rules below change; the output is deterministic.
Usage: tools/make-lexicon.py [WORDNET_DIR] > resources/lexicon.tsv

What it writes (tab-separated, one record per line, '#' lines are comments):
  w  WORD  CLASS  WEIGHT   a word or phrase (spaces between words) that names CLASS; a general
                           word ("animal") has one line per class it may name
  p  PLURAL  SINGULAR      an irregular plural (WordNet's noun.exc, and a few collective nouns)
  o  WORD                  a noun naming a physical thing that maps to no class ("unknown words")
  j  WORD                  a word above that is also an adjective ("orange"): before another word
                           it describes that word ("an orange suit") rather than naming a thing

How words are chosen. Each class names one or more WordNet synsets (a lemma and its sense number,
checked by eye against `wn LEMMA -over`). A synset's lemmas and the lemmas of all its hyponyms
(transitively, instance hyponyms too) name the class, weight 1. Some classes also take a "near"
synset at a lower weight (lemon, lime → orange at 0.5: the nearest class a COCO detector has).
A word only counts in the sense its readers most likely mean: the synset that brought it in must be
its most frequent noun sense that names a physical thing (WordNet orders a word's senses by how
often they were tagged). So "kite" (senses 1-2 are bank cheques, 3 the toy, 4 the hawk) names the
kite, and "head" (1: the body part) does not name a person through "head, chief". A word tagged
more often as an adjective or verb than as a noun in WordNet's sense counts (cntlist.rev) names
nothing ("white", "launch"), unless a class or a rule below names it; so does a proper name
(WordNet capitalises them: "Black and Tan"). Where one word
still reaches several classes, the higher weight wins, then the class listed first.
"""
import os
import sys

WN = sys.argv[1] if len(sys.argv) > 1 else "/usr/share/wordnet"

# class → [(lemma, sense, weight)]; the first is the class's own synset
CLASSES = [
    ("person", [("person", 1, 1.0), ("people", 1, 1.0)]),
    ("bicycle", [("bicycle", 1, 1.0)]),
    ("car", [("car", 1, 1.0)]),
    ("motorcycle", [("motorcycle", 1, 1.0)]),
    ("airplane", [("airplane", 1, 1.0)]),
    ("bus", [("bus", 1, 1.0)]),
    ("train", [("train", 1, 1.0)]),
    ("truck", [("truck", 1, 1.0)]),
    ("boat", [("boat", 1, 1.0), ("ship", 1, 0.7)]),
    ("traffic light", [("traffic light", 1, 1.0)]),
    ("fire hydrant", [("fireplug", 1, 1.0)]),
    ("stop sign", []),
    ("parking meter", [("parking meter", 1, 1.0)]),
    ("bench", [("bench", 1, 1.0)]),
    ("bird", [("bird", 1, 1.0)]),
    ("cat", [("cat", 1, 1.0), ("big cat", 1, 0.5)]),
    ("dog", [("dog", 1, 1.0), ("wolf", 1, 0.5), ("fox", 1, 0.5), ("coyote", 1, 0.5)]),
    ("horse", [("horse", 1, 1.0), ("ass", 3, 0.5), ("mule", 1, 0.5), ("pony", 1, 1.0)]),
    ("sheep", [("sheep", 1, 1.0), ("goat", 1, 0.5)]),
    ("cow", [("cattle", 1, 1.0), ("cow", 1, 1.0), ("bison", 1, 0.5), ("ox", 2, 0.5)]),
    ("elephant", [("elephant", 1, 1.0), ("mammoth", 1, 0.5)]),
    ("bear", [("bear", 1, 1.0)]),
    ("zebra", [("zebra", 1, 1.0)]),
    ("giraffe", [("giraffe", 1, 1.0)]),
    ("backpack", [("backpack", 1, 1.0)]),
    ("umbrella", [("umbrella", 1, 1.0), ("parasol", 1, 1.0)]),
    ("handbag", [("bag", 4, 1.0)]),
    ("tie", [("necktie", 1, 1.0), ("bow tie", 1, 1.0)]),
    ("suitcase", [("bag", 6, 1.0)]),
    ("frisbee", [("frisbee", 1, 1.0)]),
    ("skis", [("ski", 1, 1.0)]),
    ("snowboard", [("snowboard", 1, 1.0)]),
    ("sports ball", [("ball", 1, 1.0)]),
    ("kite", [("kite", 3, 1.0)]),
    ("baseball bat", [("baseball bat", 1, 1.0)]),
    ("baseball glove", [("baseball glove", 1, 1.0)]),
    ("skateboard", [("skateboard", 1, 1.0)]),
    ("surfboard", [("surfboard", 1, 1.0)]),
    ("tennis racket", [("tennis racket", 1, 1.0)]),
    ("bottle", [("bottle", 1, 1.0)]),
    ("wine glass", [("wineglass", 1, 1.0)]),
    ("cup", [("cup", 1, 1.0), ("mug", 4, 1.0), ("glass", 2, 0.5)]),
    ("fork", [("fork", 1, 1.0)]),
    ("knife", [("knife", 2, 1.0)]),
    ("spoon", [("spoon", 1, 1.0)]),
    ("bowl", [("bowl", 1, 1.0), ("bowl", 3, 1.0)]),
    ("banana", [("banana", 2, 1.0)]),
    ("apple", [("apple", 1, 1.0)]),
    ("sandwich", [("sandwich", 1, 1.0)]),
    ("orange", [("orange", 1, 1.0), ("citrus", 1, 0.5)]),
    ("broccoli", [("broccoli", 2, 1.0)]),
    ("carrot", [("carrot", 4, 1.0)]),
    ("hot dog", [("hotdog", 2, 1.0)]),
    ("pizza", [("pizza", 1, 1.0)]),
    ("donut", [("doughnut", 1, 1.0)]),
    ("cake", [("cake", 3, 1.0)]),
    ("chair", [("chair", 1, 1.0)]),
    ("couch", [("sofa", 1, 1.0)]),
    ("potted plant", [("pot plant", 1, 1.0), ("houseplant", 1, 1.0)]),
    ("bed", [("bed", 1, 1.0)]),
    ("dining table", [("dining table", 1, 1.0), ("table", 2, 0.7)]),
    ("toilet", [("toilet", 2, 1.0)]),
    ("tv", [("television receiver", 1, 1.0)]),
    ("laptop", [("laptop", 1, 1.0)]),
    ("mouse", [("mouse", 4, 1.0)]),
    ("remote", [("remote control", 1, 1.0)]),
    ("keyboard", [("keyboard", 1, 1.0)]),
    ("cell phone", [("cellular telephone", 1, 1.0)]),
    ("microwave", [("microwave", 2, 1.0)]),
    ("oven", [("oven", 1, 1.0)]),
    ("toaster", [("toaster", 2, 1.0)]),
    ("sink", [("sink", 1, 1.0)]),
    ("refrigerator", [("electric refrigerator", 1, 1.0)]),
    ("book", [("book", 2, 1.0)]),
    ("clock", [("clock", 1, 1.0)]),
    ("vase", [("vase", 1, 1.0)]),
    ("scissors", [("scissors", 1, 1.0)]),
    ("teddy bear", [("teddy", 1, 1.0)]),
    ("hair drier", [("hand blower", 1, 1.0)]),
    ("toothbrush", [("toothbrush", 1, 1.0)]),
]

# Words people use for a class that WordNet files elsewhere (checked: each is absent from, or a
# rare sense of, the class's synsets above).
EXTRA = [
    ("people", "person"), ("crowd", "person"), ("motorbike", "motorcycle"), ("bike", "bicycle"),
    ("plane", "airplane"), ("aeroplane", "airplane"), ("jet", "airplane"), ("sofa", "couch"),
    ("tv", "tv"), ("television", "tv"), ("monitor", "tv"), ("phone", "cell phone"),
    ("smartphone", "cell phone"), ("stop sign", "stop sign"), ("hydrant", "fire hydrant"),
    ("pottedplant", "potted plant"), ("diningtable", "dining table"), ("tvmonitor", "tv"),
    ("fridge", "refrigerator"), ("donut", "donut"), ("hair dryer", "hair drier"),
    ("teddy", "teddy bear"), ("racket", "tennis racket"), ("glove", "baseball glove"),
    ("bat", "baseball bat"), ("ball", "sports ball"), ("football", "sports ball"),
    # WordNet files the young under "young mammal", not under their kind
    ("kitten", "cat"), ("kitty", "cat"), ("calf", "cow"), ("lamb", "sheep"), ("pup", "dog"),
    ("puppy", "dog"), ("foal", "horse"), ("cub", "bear"), ("kid", "person"), ("luggage", "suitcase"), ("van", "truck"),
]
# General words that name any of several classes ("an animal", "vehicles"): every class whose own
# synset lies under the word's first sense, at a lower weight.
# WordNet puts buses and trains under "conveyance", not "vehicle"; its "food" is any nutrient.
GENERAL = {"animal": [], "vehicle": ["bus", "train"], "pet": [], "livestock": [], "fruit": [],
           "food": ["banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza",
                    "donut", "cake"],
           "furniture": [], "appliance": [], "utensil": [], "cutlery": [], "electronics": [], "toy": [],
           "vegetable": ["broccoli", "carrot"]}
# Words that are never unknown objects: where things are in a picture, and the picture itself.
NOT_OBJECTS = """picture photo photograph image view scene shot closeup close-up background foreground
left right front back top bottom side middle center centre corner edge distance area place spot
group lot couple pair bunch number""".split()

PHYSICAL_ENTITY = None


def read_data():
    synsets = {}  # offset → (lemmas, hyponym offsets, hypernym offsets)
    with open(os.path.join(WN, "data.noun"), encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split(" | ")[0].split()
            offset = fields[0]
            n_words = int(fields[3], 16)
            lemmas = [fields[4 + 2 * i] for i in range(n_words)]
            i = 4 + 2 * n_words
            n_ptrs = int(fields[i])
            hypo, hyper = [], []
            for k in range(n_ptrs):
                sym, target, pos = fields[i + 1 + 4 * k], fields[i + 2 + 4 * k], fields[i + 3 + 4 * k]
                if pos != "n":
                    continue
                if sym in ("~", "~i"):
                    hypo.append(target)
                elif sym in ("@", "@i"):
                    hyper.append(target)
            synsets[offset] = (lemmas, hypo, hyper)
    index = {}  # lemma → [offsets by sense]
    with open(os.path.join(WN, "index.noun"), encoding="latin-1") as f:
        for line in f:
            if line.startswith("  "):
                continue
            fields = line.split()
            lemma, n_senses, n_ptr = fields[0], int(fields[2]), int(fields[3])
            index[lemma] = fields[-n_senses:]
    return synsets, index


def norm(lemma):
    lemma = lemma.lower()
    if "(" in lemma:  # adjective markers like "(a)" do not occur in nouns, but be safe
        lemma = lemma[: lemma.index("(")]
    return lemma.replace("_", " ")


def closure(synsets, root):
    seen, todo = set(), [root]
    while todo:
        s = todo.pop()
        if s in seen:
            continue
        seen.add(s)
        todo.extend(synsets[s][1])
    return seen


def pos_counts():
    """lemma → {pos: tagged count} from WordNet's cntlist.rev; pos n, v or a (satellites are a)."""
    counts = {}
    with open(os.path.join(WN, "cntlist.rev"), encoding="latin-1") as f:
        for line in f:
            key, _, count = line.split()
            lemma, rest = key.split("%")
            pos = {"1": "n", "2": "v", "3": "a", "4": "r", "5": "a"}[rest[0]]
            c = counts.setdefault(lemma, {})
            c[pos] = c.get(pos, 0) + int(count)
    return counts


def main():
    synsets, index = read_data()
    counts = pos_counts()
    adjectives = set()
    with open(os.path.join(WN, "index.adj"), encoding="latin-1") as f:
        for line in f:
            if not line.startswith("  "):
                adjectives.add(line.split()[0])
    physical = closure(synsets, index["physical_entity"][0])
    owner = {}  # synset → (weight, class order, class); the higher weight, then the earlier class
    for order, (cls, specs) in enumerate(CLASSES):
        for lemma, sense, weight in specs:
            offsets = index.get(lemma.replace(" ", "_"))
            if offsets is None or len(offsets) < sense:
                sys.exit(f"make-lexicon: no sense {sense} of '{lemma}' in WordNet")
            for s in closure(synsets, offsets[sense - 1]):
                if s not in owner or (weight, -order) > (owner[s][0], -owner[s][1]):
                    owner[s] = (weight, order, cls)
    spec_lemmas = {(lemma, cls) for cls, specs in CLASSES for lemma, _, _ in specs}
    entries = {}  # word → (weight, class order, class)
    for s in owner:
        for raw in synsets[s][0]:
            word = norm(raw)
            if word in entries:
                continue
            if raw != raw.lower() and (word, owner[s][2]) not in spec_lemmas:
                continue  # a proper name ("Black_and_Tan", "Boston"): not what a caption means
            c = counts.get(raw.lower(), {})
            if c.get("v", 0) + c.get("a", 0) >= max(c.get("n", 0), 1) and (word, owner[s][2]) not in spec_lemmas:
                continue  # mostly a verb or an adjective: "white", "launch"
            physical_senses = [o for o in index.get(raw.lower(), []) if o in physical]
            classes = [owner[o] for o in physical_senses if o in owner]
            if not physical_senses or physical_senses[0] not in owner:
                # the word's usual physical sense is no class: only a lemma named above keeps it
                named = [owner[s]] if (word, owner[s][2]) in spec_lemmas else []
                if not named:
                    continue
                classes = named
            best = owner[physical_senses[0]] if physical_senses and physical_senses[0] in owner else classes[0]
            if best[2] == "person":
                # "tiger", "mug", "bear": a person only by metaphor when another sense is a class
                others = [c for c in classes if c[2] != "person"]
                if others:
                    best = others[0]
            entries[word] = best
    for word, cls in EXTRA:
        order = [c for c, _ in CLASSES].index(cls)
        entries[word] = (1.0, order, cls)
    general = {}  # word → [classes]
    for word, extra in GENERAL.items():
        under = closure(synsets, index[word][0])
        classes = [cls for cls, specs in CLASSES if cls in extra or (specs and index[specs[0][0].replace(" ", "_")][specs[0][1] - 1] in under)]
        if len(classes) > 1 and word not in entries:
            general[word] = classes
    for order, (cls, _) in enumerate(CLASSES):
        entries[cls] = (1.0, order, cls)

    out = sys.stdout
    out.write("# Generated by tools/make-lexicon.py from WordNet 3.0 (Princeton University; licence in\n")
    out.write("# resources/WORDNET-LICENSE). Do not edit: change the tool and run it again.\n")
    for word in sorted(entries):
        weight, _, cls = entries[word]
        out.write(f"w\t{word}\t{cls}\t{weight:g}\n")
    for word in sorted(general):
        for cls in general[word]:
            out.write(f"w\t{word}\t{cls}\t0.8\n")
    plurals = {}
    with open(os.path.join(WN, "noun.exc"), encoding="latin-1") as f:
        for line in f:
            inflected, base = line.split()[:2]
            plurals[norm(inflected)] = norm(base)
    objects = set()
    for raw, senses in index.items():
        word = norm(raw)
        if word in entries or word in general or word in NOT_OBJECTS or " " in word or not word.isalpha():
            continue
        if senses[0] in physical:
            objects.add(word)
    for inflected in sorted(plurals):
        base = plurals[inflected]
        if base in entries or base in objects:
            out.write(f"p\t{inflected}\t{base}\n")
    out.write("p\tpeople\tperson\n")
    for word in sorted(entries):
        if word.replace(" ", "_") in adjectives:
            out.write(f"j\t{word}\n")
    for word in sorted(objects):
        out.write(f"o\t{word}\n")


if __name__ == "__main__":
    main()
