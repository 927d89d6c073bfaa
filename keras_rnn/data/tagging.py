"""Token-tagging (named-entity recognition) corpora → sentences of tokens and tags, in IOB2.

The data layer of a sequence tagger: every reader returns `TaggedSentence`s whose tags are IOB2, whatever
scheme the source uses, each sentence remembering where it came from so that errors can name a file and
a line.

Sources (`load_tagging_corpus`):
- a TFDS name: `conll2003` (features `tokens`, `pos`, `chunks`, `ner`; `ner` is a sequence of class ids,
  turned into tag names with the builder's feature info). Its splits are `train`, `dev` and `test`: the
  training sentences are `train`, the validation ones `dev`; `test` is never read.
- a CoNLL column file (`.txt`, `.conll`, `.iob`, `.bio`, `.tsv`, each optionally `.gz`): one token a line,
  any number of whitespace-separated columns (CoNLL-2003: `token POS chunk NER`), the token in
  `token_column` and the tag in `tag_column`; blank lines end sentences; `-DOCSTART-` lines separate
  documents and are not sentences. Tokens are taken as given, never re-split.
- a JSON-lines file (`.jsonl`, optionally `.gz`): one `{"tokens": [...], "tags": [...]}` object a line
  (`ner_tags` is accepted for `tags`; integer tags index `tag_names`).
- a folder of split files: `train.<suffix>` beside `validation`, `valid`, `dev` or `val` with one of the
  suffixes above (the layout of `../shared/data/conll2003/`: `train.txt`, `valid.txt`). A test file
  beside them is never read.

Validation sentences are the corpus's own (TFDS `dev`, a folder's validation file, or `validation_corpus`)
when there are any; otherwise `validation_fraction` of the training sentences, whole sentences chosen by
a seeded random draw (`carve_sentences`), so the same seed always gives the same split.

Tag schemes (`TAG_SCHEMES`): tags are `O` or `<prefix>-<TYPE>` (`B-PER`, `I-LOC`, ...).
- IOB2 (the shared CoNLL-2003 copy, most corpora today): every entity starts with `B-`, continues with `I-`.
- IOB1 (CoNLL-2003 as first distributed): an entity starts with `I-`; `B-` only starts an entity that
  directly follows one of the same type. Read leniently: `B-` is accepted anywhere (it starts an entity
  either way).
- IOBES: `B-` begins, `I-` continues, `E-` ends a multi-token entity; `S-` is a single-token entity.
Readers take `scheme=` as the source's scheme (`"auto"`: `detect_scheme` decides per file), check every
tag against it, and convert to IOB2 (`to_iob2`, `from_iobes`); `to_iobes` gives IOBES back for a tagger
that trains on it. `scheme="plain"` reads labels that are not entity chunks (part-of-speech tags such as
`NNP`, `VBZ`) as they are: any non-empty label, no conversion.

Every token must have at least one character (an empty string is what pads a batch).

Sentences longer than `max_length` raise by default; `long_sentences="split"` cuts them into pieces
(before an entity rather than inside one, when it can) and `"drop"` leaves them out. Both are counted in
the `TaggedSplit` report: nothing is left out without a count.

Example:
```python
corpus = load_tagging_corpus("conll2003")                      # TFDS: train, validation = dev
corpus = load_tagging_corpus("../shared/data/conll2003")       # train.txt + valid.txt
corpus = load_tagging_corpus("ner.jsonl", validation_fraction=0.1, seed=1337)
dataset = tagging_dataset(corpus.train)                        # {"tokens": [None] str, "tags": [None] str}
batch = pad_sentences(corpus.train[:32], corpus.tags)          # tokens, tag_ids, mask: (32, T) arrays
```
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Callable, Iterable, Sequence

import numpy as np
import tensorflow as tf

from keras_rnn.data.corpora import random_carve
from keras_rnn.data.parallel import _open_text
from keras_rnn.data.tfds_source import load_tfds, tfds_builder, tfds_splits
from keras_rnn.validation import validate_choice, validate_fraction, validate_positive_int

TAG_SCHEMES = ("IOB1", "IOB2", "IOBES")
PLAIN = "plain"  # labels that are not entity chunks (part of speech, say): read and kept as they are
READ_SCHEMES = TAG_SCHEMES + (PLAIN, "auto")
SCHEME_PREFIXES = {"IOB1": ("B", "I"), "IOB2": ("B", "I"), "IOBES": ("B", "I", "E", "S")}
OUTSIDE = "O"
DOCSTART = "-DOCSTART-"
LONG_SENTENCES = ("raise", "split", "drop")  # what a reader does with a sentence over max_length
CONLL_SUFFIXES = tuple(s + gz for s in (".txt", ".conll", ".iob", ".bio", ".tsv") for gz in ("", ".gz"))
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz")
JSONL_TAG_KEYS = ("tags", "ner_tags")
VALIDATION_NAMES = ("validation", "valid", "dev", "val")
# The validation split of TFDS builders whose splits are not called "validation". An unprepared builder
# lists no splits, so the name cannot be looked up before the first download.
TFDS_VALIDATION_SPLITS = {"conll2003": "dev"}
TFDS_TAG_FEATURES = ("ner", "tags", "ner_tags")
ACCEPTED_TAGGING_SOURCES = (
    "a TFDS name such as 'conll2003'; a CoNLL column file (.txt, .conll, .iob, .bio or .tsv, gzip accepted); a "
    ".jsonl file (gzip accepted) of {\"tokens\": [...], \"tags\": [...]} lines; or a folder holding train.txt "
    "and valid.txt, validation.txt or dev.txt (other suffixes above accepted)"
)


@dataclasses.dataclass(frozen=True)
class TaggedSentence:
    """One sentence: its tokens, one tag per token, and where it came from.

    Attributes:
        tokens: the tokens, as the corpus gives them.
        tags: one tag per token (IOB2 once a reader returns it).
        source: the file it was read from, or `tfds:<name>/<split>`.
        line: the 1-based line of its first token (for a JSON-lines file, of its object; for TFDS, the
            1-based example number).
    """

    tokens: list[str]
    tags: list[str]
    source: str = "<memory>"
    line: int = 0

    def __post_init__(self):
        if len(self.tokens) != len(self.tags):
            raise ValueError(f"{self.where}: {len(self.tokens)} tokens but {len(self.tags)} tags.")

    @property
    def where(self) -> str:
        """`source:line`, as errors name the sentence."""
        return f"{self.source}:{self.line}"

    def __len__(self) -> int:
        return len(self.tokens)


@dataclasses.dataclass
class TaggedSplit:
    """The sentences one reader returned, and what it counted on the way.

    Attributes:
        sentences: the sentences, in corpus order, tags in IOB2.
        source: the file or `tfds:<name>/<split>` read.
        scheme: the scheme the source's tags were read as (detected when `scheme="auto"`).
        documents: `-DOCSTART-` markers seen (a file without any counts as one document); None for TFDS,
            whose builder removes them.
        long_dropped: sentences over `max_length` left out (`long_sentences="drop"`).
        long_split: sentences over `max_length` cut into pieces (`long_sentences="split"`); each piece is
            one of `sentences`.
        empty: sentences without tokens left out (an empty JSON `tokens` list; TFDS's CoNLL builder yields
            one at the end of a file that ends with a blank line).
    """

    sentences: list[TaggedSentence]
    source: str
    scheme: str
    documents: int | None = None
    long_dropped: int = 0
    long_split: int = 0
    empty: int = 0

    @property
    def num_tokens(self) -> int:
        return sum(len(sentence) for sentence in self.sentences)

    def describe(self) -> str:
        """One line for a log: `train.txt: 3 sentences, 12 tokens, 1 document, read as IOB2`."""
        parts = [f"{len(self.sentences):,} sentences", f"{self.num_tokens:,} tokens"]
        if self.documents is not None:
            parts.append(f"{self.documents:,} document{'s' if self.documents != 1 else ''}")
        parts.append(f"read as {self.scheme}")
        for count, what in ((self.long_dropped, "long sentences dropped"), (self.long_split, "long sentences split"),
                            (self.empty, "empty sentences skipped")):
            if count:
                parts.append(f"{count:,} {what}")
        return f"{self.source}: {', '.join(parts)}"


@dataclasses.dataclass
class TaggedCorpus:
    """Training and validation sentences of one tagging corpus (tags in IOB2), and its tag set.

    Attributes:
        train: training sentences.
        validation: validation sentences (never the corpus's test split).
        tags: `tag_vocabulary` of train and validation: "O" first, then B-/I- of each entity type.
        validation_source: `"corpus split <name>"`, `"validation corpus <path>"` or `"carved: <fraction>,
            seed <seed>"`.
        reads: the report of each file or split read (counts, scheme, sentences dropped or split).
    """

    train: list[TaggedSentence]
    validation: list[TaggedSentence]
    tags: list[str]
    validation_source: str
    reads: list[TaggedSplit] = dataclasses.field(default_factory=list)

    @property
    def plain(self) -> bool:
        """Whether the tags were read as plain labels (`scheme="plain"`), not entity chunks."""
        return any(read.scheme == PLAIN for read in self.reads)

    @property
    def entity_types(self) -> list[str]:
        """The entity types of the tag set, sorted (`['LOC', 'MISC', 'ORG', 'PER']` for CoNLL-2003); none for
        plain labels."""
        return [] if self.plain else entity_types(self.tags)

    def describe(self) -> str:
        return "\n".join([read.describe() for read in self.reads] + [
            f"train {len(self.train):,} sentences, validation {len(self.validation):,} ({self.validation_source}); "
            f"{len(self.tags)} tags: {' '.join(self.tags)}"])


# --- Tags and schemes ------------------------------------------------------------------------------


def split_tag(tag: str, scheme: str = "IOBES") -> tuple[str, str | None]:
    """`(prefix, entity type)` of a tag: `("O", None)` for "O".

    Raises:
        ValueError: the tag is not "O" nor one of the scheme's prefixes, a hyphen and a type.

    Example:
    >>> split_tag("B-PER"), split_tag("O"), split_tag("I-WORK_OF_ART")
    (('B', 'PER'), ('O', None), ('I', 'WORK_OF_ART'))
    >>> split_tag("X-PER")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Tag 'X-PER' is not an IOBES tag; accepted: 'O', or B-, I-, E- or S- followed by an entity type ...
    """
    if tag == OUTSIDE:
        return OUTSIDE, None
    prefix, hyphen, kind = tag.partition("-")
    if hyphen and kind and prefix in SCHEME_PREFIXES[scheme] and not kind.isspace():
        return prefix, kind
    raise ValueError(f"Tag {tag!r} is not {_an(scheme)} tag; accepted: {_accepted_tags(scheme)}.")


def _an(scheme: str) -> str:
    return f"an {scheme}" if scheme.startswith("I") else f"a {scheme}"


def _accepted_tags(scheme: str) -> str:
    prefixes = [f"{p}-" for p in SCHEME_PREFIXES[scheme]]
    listed = f"{', '.join(prefixes[:-1])} or {prefixes[-1]}"
    return f"'O', or {listed} followed by an entity type (e.g. 'B-PER')"


def check_tags(tags: Sequence[str], scheme: str = "IOB2", *, locate: Callable[[int], str] | None = None) -> None:
    """Raises `ValueError` unless `tags` is a valid tag sequence of `scheme`.

    IOB2: `I-X` only after `B-X` or `I-X`. IOBES: `I-X`/`E-X` only after `B-X`/`I-X`, and `B-X`/`I-X` only
    before `I-X`/`E-X`. IOB1: any sequence of well-formed tags (a `B-` anywhere starts an entity).

    Args:
        tags: the tags.
        scheme: one of `TAG_SCHEMES`.
        locate: names tag `i` in the message (`"train.txt:12"`); default `"token <i + 1>"`.

    Example:
    >>> check_tags(["B-PER", "I-PER", "O"])
    >>> check_tags(["O", "I-PER"])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: token 2: tag 'I-PER' follows 'O': in IOB2 an entity starts with B-PER and I-PER only continues ...
    """
    validate_choice("scheme", scheme, TAG_SCHEMES)
    locate = locate or (lambda i: f"token {i + 1}")
    parsed = []
    for i, tag in enumerate(tags):
        try:
            parsed.append(split_tag(tag, scheme))
        except ValueError:
            hint = ""
            if scheme != "IOBES" and tag[:2] in ("E-", "S-"):
                hint = " (E- and S- are IOBES prefixes: pass scheme='IOBES' or 'auto')"
            elif "-" not in tag[1:-1]:
                hint = " (labels that are not entities, such as part-of-speech tags: pass scheme='plain')"
            raise ValueError(f"{locate(i)}: tag {tag!r} is not {_an(scheme)} tag; accepted: "
                             f"{_accepted_tags(scheme)}{hint}.") from None
    if scheme == "IOB1":
        return
    previous = (OUTSIDE, None)
    for i, (prefix, kind) in enumerate(parsed):
        inside = previous[0] in ("B", "I") and previous[1] == kind
        if prefix in ("I", "E") and not inside:
            if scheme == "IOB2":
                rule = f"in IOB2 an entity starts with B-{kind} and I-{kind} only continues one; the tags may be " \
                       "IOB1 (pass scheme='IOB1' or 'auto' to convert them)"
            else:
                rule = f"in IOBES {prefix}-{kind} only follows B-{kind} or I-{kind}"
            raise ValueError(f"{locate(i)}: tag {tags[i]!r} follows {_tag_before(tags, i)}: {rule}.")
        if scheme == "IOBES" and previous[0] in ("B", "I") and not (prefix in ("I", "E") and kind == previous[1]):
            raise ValueError(f"{locate(i)}: tag {tags[i]!r} follows {tags[i - 1]!r}: in IOBES {tags[i - 1]!r} must be "
                             f"followed by I-{previous[1]} or E-{previous[1]} (a one-token entity is S-).")
        previous = (prefix, kind)
    if scheme == "IOBES" and previous[0] in ("B", "I"):
        raise ValueError(f"{locate(len(tags) - 1)}: the sentence ends on {tags[-1]!r}: in IOBES an entity ends "
                         f"with E-{previous[1]} (a one-token entity is S-).")


def _tag_before(tags: Sequence[str], i: int) -> str:
    return repr(tags[i - 1]) if i else "the sentence start"


def detect_scheme(tag_sequences: Iterable[Sequence[str]]) -> str:
    """The scheme of a corpus's tag sequences: "IOBES" when any tag is E- or S-, else "IOB1" when some
    entity starts with I- (an I- tag after "O", after the sentence start or after another type), else
    "IOB2" (an all-"O" corpus too). The tags are not checked here: `check_tags` does that.

    Example:
    >>> detect_scheme([["B-PER", "I-PER", "O"], ["O", "B-LOC"]])
    'IOB2'
    >>> detect_scheme([["I-PER", "I-PER", "O", "I-LOC"]])
    'IOB1'
    >>> detect_scheme([["S-PER", "O"], ["I-LOC"]])
    'IOBES'
    """
    iob1 = False
    for tags in tag_sequences:
        previous = OUTSIDE
        for tag in tags:
            if tag[:2] in ("E-", "S-"):
                return "IOBES"
            if tag.startswith("I-") and previous[2:] != tag[2:]:
                iob1 = True
            previous = tag
    return "IOB1" if iob1 else "IOB2"


def to_iob2(tags: Sequence[str]) -> list[str]:
    """IOB1 (or IOB2) tags → IOB2: an `I-X` that starts an entity becomes `B-X`. IOB2 tags come back
    unchanged.

    Raises:
        ValueError: a tag is not "O", B-TYPE or I-TYPE (IOBES tags: use `from_iobes`).

    Example:
    >>> to_iob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC", "I-ORG"])
    ['B-PER', 'I-PER', 'B-PER', 'O', 'B-LOC', 'B-ORG']
    """
    out = []
    previous = (OUTSIDE, None)
    for tag in tags:
        prefix, kind = split_tag(tag, "IOB1")
        if prefix == "I" and previous[1] != kind:
            tag = f"B-{kind}"
        out.append(tag)
        previous = (prefix, kind)
    return out


def to_iob1(tags: Sequence[str]) -> list[str]:
    """IOB2 tags → IOB1: `B-X` stays only where it directly follows an entity of type X; every other
    entity starts with `I-X`. `to_iob2(to_iob1(tags)) == tags` for IOB2 tags.

    Example:
    >>> to_iob1(["B-PER", "I-PER", "B-PER", "O", "B-LOC", "B-ORG"])
    ['I-PER', 'I-PER', 'B-PER', 'O', 'I-LOC', 'I-ORG']
    """
    out = []
    previous_kind = None
    for tag in to_iob2(tags):
        prefix, kind = split_tag(tag, "IOB2")
        if prefix == "B" and previous_kind != kind:
            tag = f"I-{kind}"
        out.append(tag)
        previous_kind = kind
    return out


def to_iobes(tags: Sequence[str]) -> list[str]:
    """IOB2 (or IOB1) tags → IOBES: an entity's last token is `E-X` (`S-X` for a one-token entity).

    Example:
    >>> to_iobes(["B-PER", "I-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-LOC"])
    ['B-PER', 'I-PER', 'E-PER', 'O', 'S-LOC', 'B-LOC', 'E-LOC']
    """
    iob2 = to_iob2(tags)
    out = []
    for i, tag in enumerate(iob2):
        if tag == OUTSIDE:
            out.append(tag)
            continue
        prefix, kind = tag.split("-", 1)
        continues = i + 1 < len(iob2) and iob2[i + 1] == f"I-{kind}"
        if prefix == "B":
            out.append(tag if continues else f"S-{kind}")
        else:
            out.append(tag if continues else f"E-{kind}")
    return out


_IOBES_TO_IOB2 = {"S": "B", "E": "I"}


def from_iobes(tags: Sequence[str]) -> list[str]:
    """IOBES tags → IOB2 (`S-X` → `B-X`, `E-X` → `I-X`). `from_iobes(to_iobes(tags)) == to_iob2(tags)`.

    Raises:
        ValueError: a tag is not "O" nor B-, I-, E- or S- and a type.

    Example:
    >>> from_iobes(['B-PER', 'I-PER', 'E-PER', 'O', 'S-LOC', 'B-LOC', 'E-LOC'])
    ['B-PER', 'I-PER', 'I-PER', 'O', 'B-LOC', 'B-LOC', 'I-LOC']
    """
    out = []
    for tag in tags:
        prefix, kind = split_tag(tag, "IOBES")
        out.append(tag if prefix == OUTSIDE else f"{_IOBES_TO_IOB2.get(prefix, prefix)}-{kind}")
    return out


def convert_tags(tags: Sequence[str], source: str, target: str = "IOB2") -> list[str]:
    """Tags of scheme `source` in scheme `target` (both in `TAG_SCHEMES`); not checked (see `check_tags`).

    Example:
    >>> convert_tags(["S-PER", "O"], "IOBES", "IOB1")
    ['I-PER', 'O']
    """
    validate_choice("source", source, TAG_SCHEMES)
    validate_choice("target", target, TAG_SCHEMES)
    iob2 = from_iobes(tags) if source == "IOBES" else to_iob2(tags)
    if target == "IOB1":
        return to_iob1(iob2)
    return to_iobes(iob2) if target == "IOBES" else iob2


def entity_spans(tags: Sequence[str]) -> list[tuple[str, int, int]]:
    """The entities of IOB2 (or IOB1) tags as `(type, start, end)`, `end` exclusive.

    Example:
    >>> entity_spans(["B-PER", "I-PER", "O", "B-LOC", "B-LOC", "I-ORG"])
    [('PER', 0, 2), ('LOC', 3, 4), ('LOC', 4, 5), ('ORG', 5, 6)]
    """
    spans = []
    for i, tag in enumerate(to_iob2(tags)):
        if tag.startswith("B-"):
            spans.append([tag[2:], i, i + 1])
        elif tag.startswith("I-"):
            spans[-1][2] = i + 1
    return [tuple(span) for span in spans]


def entity_types(tags: Iterable[str]) -> list[str]:
    """The sorted entity types of a tag set or sequence, any scheme.

    Example:
    >>> entity_types(["O", "B-PER", "I-PER", "S-LOC"])
    ['LOC', 'PER']
    """
    return sorted({split_tag(tag)[1] for tag in tags if tag != OUTSIDE})


def tag_vocabulary(sentences: Iterable[TaggedSentence | Sequence[str]], scheme: str = "IOB2") -> list[str]:
    """The tag set to give ids to: "O" (id 0), then for each entity type seen, in sorted order, every
    prefix of `scheme` in the order B, I (IOBES: B, I, E, S), whether or not the corpus holds that tag.

    Every tag the scheme allows for a type seen has an id, so a tag seen only in validation or a
    converted scheme still encodes; CoNLL-2003 in IOB2 gives 9 tags (17 in IOBES).

    Args:
        sentences: `TaggedSentence`s, or tag sequences.
        scheme: the scheme of the ids (types are read from tags of any scheme).

    Example:
    >>> tag_vocabulary([["B-PER", "I-PER", "O"], ["B-LOC"]])
    ['O', 'B-LOC', 'I-LOC', 'B-PER', 'I-PER']
    >>> tag_vocabulary([["B-PER", "O"]], scheme="IOBES")
    ['O', 'B-PER', 'I-PER', 'E-PER', 'S-PER']
    """
    validate_choice("scheme", scheme, TAG_SCHEMES + (PLAIN,))
    if scheme == PLAIN:  # plain labels: every label seen, sorted
        return sorted({tag for item in sentences for tag in (item.tags if isinstance(item, TaggedSentence)
                                                               else item)})
    types = entity_types(tag for item in sentences for tag in (item.tags if isinstance(item, TaggedSentence)
                                                                  else item))
    return [OUTSIDE] + [f"{prefix}-{kind}" for kind in types for prefix in SCHEME_PREFIXES[scheme]]


# --- Batching --------------------------------------------------------------------------------------


def encode_tags(tags: Sequence[str], vocabulary: Sequence[str], *, where: str | None = None) -> np.ndarray:
    """Tag ids (int32, index into `vocabulary`).

    Raises:
        ValueError: a tag is not in the vocabulary (named with `where` when given).

    Example:
    >>> encode_tags(["O", "B-PER", "I-PER"], ["O", "B-PER", "I-PER"]).tolist()
    [0, 1, 2]
    """
    index = {tag: i for i, tag in enumerate(vocabulary)}
    try:
        return np.array([index[tag] for tag in tags], np.int32)
    except KeyError as error:
        raise ValueError(f"{where + ': ' if where else ''}tag {error.args[0]!r} is not in the tag vocabulary "
                         f"{list(vocabulary)}.") from None


def pad_sentences(sentences: Sequence[TaggedSentence], vocabulary: Sequence[str], *,
                  length: int | None = None) -> dict[str, np.ndarray]:
    """A batch as padded arrays: `tokens` (str, padded with ""), `tag_ids` (int32, padded with 0, the id of
    "O") and `mask` (bool, True on real tokens), each of shape `(len(sentences), length)`.

    Args:
        sentences: the batch.
        vocabulary: tag names, index = id (`tag_vocabulary`).
        length: the padded length (default: the longest sentence's).

    Raises:
        ValueError: a sentence is longer than `length`, or holds a tag outside the vocabulary.

    Example:
    >>> batch = pad_sentences([TaggedSentence(["Ann", "sings"], ["B-PER", "O"]), TaggedSentence(["Hi"], ["O"])],
    ...                       ["O", "B-PER", "I-PER"])
    >>> batch["tokens"].tolist(), batch["tag_ids"].tolist(), batch["mask"].tolist()
    ([['Ann', 'sings'], ['Hi', '']], [[1, 0], [0, 0]], [[True, True], [True, False]])
    """
    longest = max((len(sentence) for sentence in sentences), default=0)
    length = longest if length is None else length
    if longest > length:
        where = next(s.where for s in sentences if len(s) == longest)
        raise ValueError(f"{where}: a sentence of {longest} tokens does not fit length={length}.")
    tokens = np.full((len(sentences), length), "", dtype=object)
    tag_ids = np.zeros((len(sentences), length), np.int32)
    mask = np.zeros((len(sentences), length), bool)
    for row, sentence in enumerate(sentences):
        n = len(sentence)
        tokens[row, :n] = sentence.tokens
        tag_ids[row, :n] = encode_tags(sentence.tags, vocabulary, where=sentence.where)
        mask[row, :n] = True
    return {"tokens": tokens, "tag_ids": tag_ids, "mask": mask}


def tagging_dataset(sentences: Sequence[TaggedSentence]) -> tf.data.Dataset:
    """A `tf.data.Dataset` with one element a sentence: `{"tokens": string [n], "tags": string [n]}`.

    Elements have different lengths: map a preprocessor over them (a `StringLookup` of the tags, a
    token vectorizer), then batch with `ragged_batch` or `padded_batch`.

    Example:
    >>> dataset = tagging_dataset([TaggedSentence(["Ann", "sings"], ["B-PER", "O"]), TaggedSentence(["Hi"], ["O"])])
    >>> [(list(e["tokens"]), list(e["tags"])) for e in dataset.as_numpy_iterator()]
    [([b'Ann', b'sings'], [b'B-PER', b'O']), ([b'Hi'], [b'O'])]
    """
    lengths = np.array([len(sentence) for sentence in sentences], np.int64)

    def ragged(field: str) -> tf.RaggedTensor:
        flat = [item for sentence in sentences for item in getattr(sentence, field)]
        values = tf.constant(flat, tf.string) if flat else tf.zeros([0], tf.string)
        return tf.RaggedTensor.from_row_lengths(values, lengths)

    return tf.data.Dataset.from_tensor_slices({"tokens": ragged("tokens"), "tags": ragged("tags")})


# --- Readers ---------------------------------------------------------------------------------------


def _resolve_column(name: str, column: int, count: int, path: str, line: int) -> int:
    if isinstance(column, bool) or not isinstance(column, int):
        raise ValueError(f"Received an invalid value for argument `{name}`: {column!r}. Expected an integer.")
    index = column + count if column < 0 else column
    if not 0 <= index < count:
        kind = name.split("_")[0]
        raise ValueError(f"{path}:{line}: unknown {kind} column {column}: its lines have {count} column"
                         f"{'s' if count != 1 else ''}, so {name} must be in {-count}..{count - 1}.")
    return index


def read_conll(
    path: str,
    *,
    token_column: int = 0,
    tag_column: int = -1,
    scheme: str = "IOB2",
    max_length: int | None = None,
    long_sentences: str = "raise",
) -> TaggedSplit:
    """The sentences of a CoNLL column file (see the module docstring), tags converted to IOB2.

    Args:
        path: the file (`.gz` read as gzip).
        token_column: column of the token (negative counts from the end). Defaults to 0.
        tag_column: column of the tag. Defaults to -1, the last (CoNLL-2003's NER column).
        scheme: the file's tag scheme, one of `READ_SCHEMES` (`"auto"`: `detect_scheme` on the whole file).
        max_length: the most tokens a sentence may have (default: no limit).
        long_sentences: what to do with a longer sentence, one of `LONG_SENTENCES`: `"raise"` (default),
            `"split"` it into pieces of at most `max_length` tokens (cut before an entity when one would
            straddle the cut, unless it is longer than `max_length` itself), or `"drop"` it. Both are
            counted in the report.

    Returns:
        A `TaggedSplit`: the sentences and the counts.

    Raises:
        ValueError: a line has another number of columns than the file's first token line; a column is out
            of range ("unknown tag column"); a tag is not of `scheme`; a sentence is longer than `max_length`
            (with `long_sentences="raise"`). Each names the file and the line.
    """
    validate_choice("scheme", scheme, READ_SCHEMES)
    expected = first_line = token_index = tag_index = None
    raw: list[tuple[list[str], list[str], int]] = []
    tokens: list[str] = []
    tags: list[str] = []
    start = 0
    documents = 0

    def end_sentence():
        nonlocal tokens, tags
        if tokens:
            raw.append((tokens, tags, start))
        tokens, tags = [], []

    with _open_text(path) as f:
        for number, line in enumerate(f, start=1):
            fields = line.split()
            if not fields:
                end_sentence()
                continue
            if fields[0] == DOCSTART:
                end_sentence()
                documents += 1
                continue
            if expected is None:
                expected, first_line = len(fields), number
                token_index = _resolve_column("token_column", token_column, expected, path, number)
                tag_index = _resolve_column("tag_column", tag_column, expected, path, number)
                if token_index == tag_index:
                    raise ValueError(f"token_column {token_column} and tag_column {tag_column} are the same column "
                                     f"of {path}, whose lines have {expected} column{'s' if expected != 1 else ''}: "
                                     "a tagging file needs a token column and a tag column.")
            elif len(fields) != expected:
                raise ValueError(f"{path}:{number}: expected {expected} columns (as on line {first_line}), found "
                                 f"{len(fields)}: {line.rstrip(chr(13) + chr(10))!r}.")
            if not tokens:
                start = number
            tokens.append(fields[token_index])
            tags.append(fields[tag_index])
    end_sentence()
    sentences, used = _checked(raw, scheme, path, per_line=True)
    split = TaggedSplit(sentences, path, used, documents=documents or (1 if sentences else 0))
    return _limit_length(split, max_length, long_sentences, per_line=True)


def read_jsonl(
    path: str,
    *,
    scheme: str = "IOB2",
    max_length: int | None = None,
    long_sentences: str = "raise",
    tag_names: Sequence[str] | None = None,
) -> TaggedSplit:
    """The sentences of a JSON-lines file: one `{"tokens": [...], "tags": [...]}` object a line (`ner_tags`
    accepted for `tags`), tags converted to IOB2. Blank lines are skipped; a sentence of the single token
    `-DOCSTART-` (as Hugging Face's CoNLL-2003 keeps them) marks a document and is not a sentence.

    Args:
        path: the file (`.gz` read as gzip).
        scheme, max_length, long_sentences: as for `read_conll`.
        tag_names: names of integer tags (a tag `i` is `tag_names[i]`), for files that store tag ids.

    Raises:
        ValueError: a line is not JSON, not an object with `tokens` and `tags` lists of strings (or of
            integers with `tag_names`), or has more tokens than tags or fewer; and the errors of
            `read_conll` about tags and lengths. Each names the file and the line.
    """
    validate_choice("scheme", scheme, READ_SCHEMES)
    raw: list[tuple[list[str], list[str], int]] = []
    documents = empty = 0
    with _open_text(path) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}:{number}: not valid JSON ({error.msg}, column {error.colno}): "
                                 f"{line.strip()[:80]!r}.") from None
            tag_key = next((key for key in JSONL_TAG_KEYS if isinstance(record, dict) and key in record), None)
            if not isinstance(record, dict) or "tokens" not in record or tag_key is None:
                got = f"keys {sorted(record)}" if isinstance(record, dict) else type(record).__name__
                raise ValueError(f"{path}:{number}: expected an object with a 'tokens' list and a 'tags' (or "
                                 f"'ner_tags') list; got {got}.")
            tokens, tags = record["tokens"], record[tag_key]
            if not isinstance(tokens, list) or not all(isinstance(token, str) for token in tokens):
                raise ValueError(f"{path}:{number}: 'tokens' must be a list of strings; got {tokens!r:.80}.")
            tags = _tag_strings(tags, tag_key, tag_names, f"{path}:{number}")
            if len(tokens) != len(tags):
                raise ValueError(f"{path}:{number}: {len(tokens)} tokens but {len(tags)} tags ({tag_key!r}).")
            if tokens == [DOCSTART]:
                documents += 1
            elif not tokens:
                empty += 1
            else:
                raw.append((tokens, tags, number))
    sentences, used = _checked(raw, scheme, path, per_line=False)
    split = TaggedSplit(sentences, path, used, documents=documents or (1 if sentences else 0), empty=empty)
    return _limit_length(split, max_length, long_sentences, per_line=False)


def _tag_strings(tags, key: str, tag_names: Sequence[str] | None, where: str) -> list[str]:
    if not isinstance(tags, list):
        raise ValueError(f"{where}: {key!r} must be a list; got {tags!r:.80}.")
    if all(isinstance(tag, str) for tag in tags):
        return tags
    if all(isinstance(tag, int) and not isinstance(tag, bool) for tag in tags):
        if tag_names is None:
            raise ValueError(f"{where}: {key!r} holds integer tag ids; pass tag_names (the tag of id i is "
                             "tag_names[i]).")
        bad = next((tag for tag in tags if not 0 <= tag < len(tag_names)), None)
        if bad is not None:
            raise ValueError(f"{where}: tag id {bad} is not an index into tag_names ({len(tag_names)} names).")
        return [tag_names[tag] for tag in tags]
    raise ValueError(f"{where}: {key!r} must be a list of strings (or of integer ids with tag_names); got "
                     f"{tags!r:.80}.")


def read_tfds_tagging(
    name: str,
    split: str,
    *,
    scheme: str = "auto",
    max_length: int | None = None,
    long_sentences: str = "raise",
    token_feature: str = "tokens",
    tag_feature: str | None = None,
    data_dir: str | None = None,
    download_and_prepare_kwargs: dict | None = None,
) -> TaggedSplit:
    """One split of a TFDS tagging dataset (`conll2003`: splits `train`, `dev`, `test`), tags converted to
    IOB2. Class ids become tag names with the builder's feature info.

    Args:
        name: the TFDS builder.
        split: the split.
        scheme, max_length, long_sentences: as for `read_conll` (default scheme: "auto").
        token_feature: the feature holding the tokens. Defaults to "tokens".
        tag_feature: the sequence of `ClassLabel` holding the tags (default: the first of `TFDS_TAG_FEATURES`
            the builder has).
        data_dir, download_and_prepare_kwargs: passed to `load_tfds`.

    Raises:
        ValueError: unknown builder (naming the accepted sources), no such features, tags that are not
            class labels, an example with more tokens than tags or fewer, tags not of `scheme`.
        CorpusDownloadError: the dataset is not prepared and cannot be downloaded (no network).
    """
    import tensorflow_datasets as tfds

    validate_choice("scheme", scheme, READ_SCHEMES)
    features = tfds_builder(name, data_dir, ACCEPTED_TAGGING_SOURCES).info.features
    tag_feature = tag_feature or next((key for key in TFDS_TAG_FEATURES if key in features), None)
    for feature, kind in ((token_feature, "token"), (tag_feature, "tag")):
        if feature not in features:
            raise ValueError(f"TFDS dataset {name!r} has no {kind} feature {feature!r}; its features are: "
                             f"{', '.join(sorted(features.keys()))}.")
    label = getattr(features[tag_feature], "feature", None)
    if not isinstance(label, tfds.features.ClassLabel):
        raise ValueError(f"TFDS feature {tag_feature!r} of {name!r} is not a sequence of ClassLabel.")
    names = list(label.names)
    dataset = load_tfds(name, split, data_dir=data_dir, download_and_prepare_kwargs=download_and_prepare_kwargs,
                        accepted_sources=ACCEPTED_TAGGING_SOURCES)
    source = f"tfds:{name}/{split}"
    raw, empty = [], 0
    for number, example in enumerate(dataset.as_numpy_iterator(), start=1):
        tokens = [token.decode("utf-8", errors="replace") for token in example[token_feature]]
        ids = example[tag_feature]
        if len(tokens) != len(ids):
            raise ValueError(f"{source}:{number}: {len(tokens)} tokens but {len(ids)} tags ({tag_feature!r}).")
        if not tokens:
            empty += 1
            continue
        raw.append((tokens, [names[i] for i in ids], number))
    sentences, used = _checked(raw, scheme, source, per_line=False)
    return _limit_length(TaggedSplit(sentences, source, used, documents=None, empty=empty), max_length,
                         long_sentences, per_line=False)


def _checked(raw, scheme: str, source: str, *, per_line: bool) -> tuple[list[TaggedSentence], str]:
    """Checks every sentence's tokens, and its tags against the scheme (detected first for "auto"), and
    converts the tags to IOB2 (plain labels stay as they are)."""
    used = detect_scheme(tags for _, tags, _ in raw) if scheme == "auto" else scheme
    sentences = []
    for tokens, tags, line in raw:
        if per_line:
            locate = lambda i, line=line: f"{source}:{line + i}"  # noqa: E731  one token a line
        else:
            locate = lambda i, line=line: f"{source}:{line} (token {i + 1})"  # noqa: E731
        for i, token in enumerate(tokens):
            if not token:
                raise ValueError(f"{locate(i)}: an empty token; every token needs at least one character (the "
                                 "empty string pads sentences in a batch).")
        if used == PLAIN:
            empty = next((i for i, tag in enumerate(tags) if not tag or tag.isspace()), None)
            if empty is not None:
                raise ValueError(f"{locate(empty)}: an empty label {tags[empty]!r}.")
            sentences.append(TaggedSentence(tokens, list(tags), source, line))
            continue
        check_tags(tags, used, locate=locate)
        sentences.append(TaggedSentence(tokens, convert_tags(tags, used), source, line))
    return sentences, used


def _limit_length(split: TaggedSplit, max_length: int | None, policy: str, *, per_line: bool) -> TaggedSplit:
    validate_choice("long_sentences", policy, LONG_SENTENCES)
    if max_length is None:
        return split
    validate_positive_int("max_length", max_length)
    kept = []
    for sentence in split.sentences:
        if len(sentence) <= max_length:
            kept.append(sentence)
        elif policy == "raise":
            raise ValueError(
                f"{sentence.where}: a sentence of {len(sentence)} tokens is longer than max_length={max_length}; "
                "pass long_sentences='split' to cut it into pieces of at most max_length tokens, or 'drop' to "
                "leave it out (either is counted in the report), or a larger max_length.")
        elif policy == "drop":
            split.long_dropped += 1
        else:
            split.long_split += 1
            kept.extend(split_sentence(sentence, max_length, per_line=per_line, plain=split.scheme == PLAIN))
    split.sentences = kept
    return split


def split_sentence(sentence: TaggedSentence, max_length: int, *, per_line: bool = True,
                   plain: bool = False) -> list[TaggedSentence]:
    """A sentence cut into pieces of at most `max_length` tokens. A cut that would fall inside an entity
    moves back to the entity's start (an entity longer than `max_length` is cut anyway, its next piece
    starting with B-); plain labels (`plain`) are cut every `max_length` tokens and kept as they are.
    Pieces of a CoNLL sentence (`per_line`) carry the line of their first token.

    Example:
    >>> pieces = split_sentence(TaggedSentence(list("abcde"), ["O", "B-PER", "I-PER", "O", "O"], "f", 10), 2)
    >>> [(p.tokens, p.tags, p.line) for p in pieces]
    [(['a'], ['O'], 10), (['b', 'c'], ['B-PER', 'I-PER'], 11), (['d', 'e'], ['O', 'O'], 13)]
    """
    validate_positive_int("max_length", max_length)
    pieces, start, n = [], 0, len(sentence)
    while start < n:
        end = min(start + max_length, n)
        if not plain and end < n and sentence.tags[end].startswith("I-"):  # the cut would fall inside an entity
            entity_start = end - 1
            while entity_start > start and sentence.tags[entity_start].startswith("I-"):
                entity_start -= 1
            if entity_start > start:
                end = entity_start
        line = sentence.line + start if per_line else sentence.line
        tags = sentence.tags[start:end]
        pieces.append(TaggedSentence(sentence.tokens[start:end], tags if plain else to_iob2(tags), sentence.source,
                                     line))
        start = end
    return pieces


# --- Corpora ---------------------------------------------------------------------------------------


def carve_sentences(sentences: Sequence[TaggedSentence], fraction: float,
                    seed: int) -> tuple[list[TaggedSentence], list[TaggedSentence]]:
    """`(train, validation)`: `round(fraction * n)` whole sentences (at least one, and at least one left to
    train on) drawn at random with `seed` for validation, both in corpus order. The same sentences, fraction
    and seed always give the same split.

    Sentences of one document may land on both sides (CoNLL-2003's documents are news articles: a name in
    a training sentence may recur in a validation one); give a validation corpus to avoid that.

    Example:
    >>> train, validation = carve_sentences([TaggedSentence([str(i)], ["O"]) for i in range(10)], 0.2, seed=0)
    >>> len(train), len(validation), sorted(s.tokens[0] for s in train + validation) == [str(i) for i in range(10)]
    (8, 2, True)
    """
    validate_fraction("fraction", fraction, allow_zero=False)
    n = len(sentences)
    if n < 2:
        raise ValueError(f"Cannot carve a validation split from {n} sentence(s); it needs at least two (one to "
                         "train on, one to validate on). Give a validation corpus instead.")
    size = min(max(int(round(n * fraction)), 1), n - 1)
    return random_carve(list(sentences), size, seed)


class _Source:
    """One corpus: its kind, and a reader of its training or validation sentences."""

    def __init__(self, corpus: str, options: dict):
        self.corpus, self.options = corpus, options
        self.kind, self.path = self._identify()

    def _identify(self) -> tuple[str, str | None]:
        corpus = self.corpus
        lower = corpus.lower()
        local = (os.path.exists(os.path.expanduser(corpus)) or corpus.startswith((".", "/", "~"))
                 or lower.endswith(CONLL_SUFFIXES + JSONL_SUFFIXES))
        if not local:
            return "tfds", None
        path = os.path.expanduser(corpus)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Tagging corpus {corpus!r} does not exist. Accepted sources: "
                                    f"{ACCEPTED_TAGGING_SOURCES}.")
        if os.path.isdir(path):
            files = self.split_files(path)
            if "train" not in files or self._validation_name(files) is None:
                raise ValueError(f"Folder {corpus!r} holds no train file with a validation file beside it (found: "
                                 f"{sorted(os.listdir(path))}). Accepted sources: {ACCEPTED_TAGGING_SOURCES}.")
            return "folder", path
        if lower.endswith(JSONL_SUFFIXES):
            return "jsonl", path
        if lower.endswith(CONLL_SUFFIXES):
            return "conll", path
        raise ValueError(f"Unsupported tagging corpus file {corpus!r}. Accepted sources: {ACCEPTED_TAGGING_SOURCES}.")

    @staticmethod
    def split_files(folder: str) -> dict[str, str]:
        """Split name → file, for the files of `folder` with a CoNLL or JSON-lines suffix."""
        files = {}
        for name in sorted(os.listdir(folder)):
            suffix = next((s for s in sorted(CONLL_SUFFIXES + JSONL_SUFFIXES, key=len, reverse=True)
                           if name.lower().endswith(s)), None)
            if suffix and os.path.isfile(os.path.join(folder, name)):
                files.setdefault(name[: -len(suffix)].lower(), os.path.join(folder, name))
        return files

    @staticmethod
    def _validation_name(splits) -> str | None:
        return next((name for name in VALIDATION_NAMES if name in splits), None)

    def validation_split(self) -> str | None:
        if self.kind == "folder":
            return self._validation_name(self.split_files(self.path))
        if self.kind == "tfds":
            splits = tfds_splits(self.corpus, self.options.get("data_dir"), ACCEPTED_TAGGING_SOURCES)
            return self._validation_name(splits) or (
                None if splits else TFDS_VALIDATION_SPLITS.get(self.corpus.split("/")[0].split(":")[0]))
        return None

    def read(self, split: str) -> TaggedSplit:
        options = dict(self.options)
        tfds_options = {key: options.pop(key) for key in ("data_dir", "download_and_prepare_kwargs")}
        columns = {key: options.pop(key) for key in ("token_column", "tag_column")}
        tag_names = options.pop("tag_names")
        if self.kind == "tfds":
            return read_tfds_tagging(self.corpus, split, **options, **tfds_options)
        path = self.split_files(self.path)[split] if self.kind == "folder" else self.path
        if path.lower().endswith(JSONL_SUFFIXES):
            return read_jsonl(path, tag_names=tag_names, **options)
        return read_conll(path, **columns, **options)


READER_OPTIONS = {"token_column": 0, "tag_column": -1, "scheme": "auto", "max_length": None,
                  "long_sentences": "raise", "tag_names": None, "data_dir": None,
                  "download_and_prepare_kwargs": None}


def _reader_options(given: dict) -> dict:
    """Every reader option, defaults filled in, checked."""
    unknown = sorted(set(given) - set(READER_OPTIONS))
    if unknown:
        raise ValueError(f"Unknown tagging reader options {unknown}; accepted: {sorted(READER_OPTIONS)}.")
    options = {**READER_OPTIONS, **given}
    validate_choice("scheme", options["scheme"], READ_SCHEMES)
    validate_choice("long_sentences", options["long_sentences"], LONG_SENTENCES)
    return options


def load_tagging_corpus(
    corpus: str,
    *,
    validation_corpus: str | None = None,
    validation_fraction: float = 0.1,
    seed: int = 1337,
    token_column: int = 0,
    tag_column: int = -1,
    scheme: str = "auto",
    max_length: int | None = None,
    long_sentences: str = "raise",
    tag_names: Sequence[str] | None = None,
    data_dir: str | None = None,
    download_and_prepare_kwargs: dict | None = None,
) -> TaggedCorpus:
    """Training and validation sentences of a tagging corpus, tags in IOB2 (see the module docstring for
    the sources and where validation comes from).

    Args:
        corpus: TFDS name, CoNLL or JSON-lines file, or folder of split files.
        validation_corpus: where validation sentences come from instead (its validation split when it has
            one, else all of it).
        validation_fraction, seed: the carve (`carve_sentences`) when the corpus has no validation split
            and no `validation_corpus` is given; ignored otherwise.
        token_column, tag_column: CoNLL columns (see `read_conll`).
        scheme: the corpus's tag scheme, one of `READ_SCHEMES`. Defaults to "auto": detected per file or split.
        max_length, long_sentences: see `read_conll`.
        tag_names: names of integer tags in JSON-lines files.
        data_dir, download_and_prepare_kwargs: for TFDS (see `load_tfds`).

    Raises:
        FileNotFoundError: a local corpus that does not exist.
        ValueError: an unknown source (naming the accepted ones), a split without sentences, or any error
            of the readers.
        CorpusDownloadError: a TFDS dataset that is not prepared and cannot be downloaded.
    """
    options = _reader_options(dict(
        token_column=token_column, tag_column=tag_column, scheme=scheme, max_length=max_length,
        long_sentences=long_sentences, tag_names=tag_names, data_dir=data_dir,
        download_and_prepare_kwargs=download_and_prepare_kwargs))
    source = _Source(corpus, options)
    train_read = source.read("train")
    reads = [train_read]
    train = train_read.sentences
    if validation_corpus is not None:
        other = _Source(validation_corpus, options)
        reads.append(other.read(other.validation_split() or "train"))
        validation = reads[-1].sentences
        where = f"validation corpus {validation_corpus}"
    elif source.validation_split() is not None:
        reads.append(source.read(source.validation_split()))
        validation = reads[-1].sentences
        where = f"corpus split {source.validation_split()}"
    else:
        validate_fraction("validation_fraction", validation_fraction, allow_zero=False)
        train, validation = carve_sentences(train, validation_fraction, seed)
        where = f"carved: {validation_fraction:g} of the sentences, seed {seed}"
    for sentences, what in ((train, "training"), (validation, "validation")):
        if not sentences:
            raise ValueError(f"The {what} split of {corpus!r} ({where if what == 'validation' else 'train'}) holds "
                             "no sentences.")
    scheme = PLAIN if any(read.scheme == PLAIN for read in reads) else "IOB2"
    return TaggedCorpus(train, validation, tag_vocabulary(train + validation, scheme), where, reads)


def read_tagging_split(corpus: str, split: str = "validation", *, train_split: str = "train",
                       **options) -> TaggedSplit:
    """One split of a tagging corpus, tags in IOB2: a TFDS split or a folder's split file by name
    (`"validation"` finds the corpus's validation split: TFDS `dev`, a folder's `valid` file), or the whole
    of a single CoNLL or JSON-lines file, for `split` "validation" (or another validation name) or
    `train_split`.

    Args:
        corpus: TFDS name, CoNLL or JSON-lines file, or folder of split files.
        split: the split to read.
        train_split: the name a single file answers to besides the validation names.
        **options: the reader options of `load_tagging_corpus` (`token_column`, `tag_column`, `scheme`,
            `max_length`, `long_sentences`, `tag_names`, `data_dir`, `download_and_prepare_kwargs`).

    Raises:
        ValueError: an unknown option, a folder or TFDS corpus without that split (naming the ones it has),
            or another split of a single file (it has none: give that split's own file as the corpus).
    """
    source = _Source(corpus, _reader_options(options))
    if source.kind in ("conll", "jsonl"):
        if split not in VALIDATION_NAMES + (train_split,):
            raise ValueError(f"{corpus!r} is a single file, with no {split!r} split in it: pass that split's own "
                             f"file as the corpus (its whole content is read for split 'validation' or "
                             f"{train_split!r}).")
        return source.read("train")
    if split in VALIDATION_NAMES:
        split = source.validation_split() or split
    if source.kind == "folder":
        files = source.split_files(source.path)
        if split not in files:
            raise ValueError(f"Folder {corpus!r} has no {split!r} split; its splits: {sorted(files)}.")
    return source.read(split)
