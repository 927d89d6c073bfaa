"""Summarization corpora (document, summary) for abstractive summarization, from TFDS or local files.

Sources:
- a TFDS summarization builder: `aeslc` (the default corpus: email body → subject line), `gigaword`,
  `cnn_dailymail`, `xsum`, `billsum` with their own feature names, or any other builder given
  `document_feature` and `summary_feature`;
- AESLC (the Annotated Enron Subject Line Corpus) as distributed: the archive `aeslc_train_dev.tar.xz`
  (read in place, nothing extracted) or its extracted folder, `enron_subject_line/{train,dev,test}/*.subject`.
  Each file holds the email body, a blank line, `@subject` and the subject line; dev and test files add
  human references in `@ann0`, `@ann1`, `@ann2` blocks, returned as `validation_references`. The body
  and subject are read exactly as TFDS `aeslc` reads them (see `_parse_aeslc`), so a local copy gives
  the same examples as TFDS, with their newlines;
- Gigaword in its one-example-a-line layout (Rush et al. 2015): a folder of line-aligned
  `<split>.article.txt[.gz]` and `<split>.title.txt[.gz]` (also `<split>.article.filter.txt.gz`, the
  filtered validation files, and the `<split>.src.txt` / `<split>.tgt.txt` spelling);
- a tab-separated file `document<TAB>summary` (gzip accepted; a header row is optional);
- JSON lines `{"document": ..., "summary": ...}` (`.jsonl`, `.jsonl.gz`, `.jsonl.xz`; other keys via
  `document_feature` / `summary_feature`; a list of sentences is joined with newlines).

Every source yields `(document, summary)` pairs of scalar strings.

Example, a tiny AESLC folder:

>>> import pathlib, tempfile
>>> from keras_rnn.data.parallel import decoded_pairs
>>> root = pathlib.Path(tempfile.mkdtemp()) / "enron_subject_line"
>>> for split, name, text in [
...     ("train", "a_1", "Lunch at noon on Friday?\\n\\n@subject\\nlunch\\n"),
...     ("dev", "b_2", "The weekly report is attached.\\n\\n@subject\\nreport\\n\\n@ann0\\nweekly report\\n"),
... ]:
...     (root / split).mkdir(parents=True, exist_ok=True)
...     _ = (root / split / f"{name}.subject").write_text(text)
>>> data = load_summarization(str(root))
>>> decoded_pairs(data.train)
[('Lunch at noon on Friday?\\n', 'lunch\\n')]
>>> decoded_pairs(data.validation)
[('The weekly report is attached.\\n', 'report\\n')]
>>> data.validation_references
[['weekly report\\n']]
>>> import shutil; shutil.rmtree(root.parent)
"""

from __future__ import annotations

import dataclasses
import io
import json
import lzma
import os
import re
from collections.abc import Iterator

import tensorflow as tf

from keras_rnn.data.corpora import ARCHIVE_SUFFIXES, VALIDATION_SPLITS, carve_validation, is_local_source
from keras_rnn.data.parallel import VALIDATION_SPLIT_NAMES, _open_text
from keras_rnn.data.tfds_source import load_tfds, tfds_builder, tfds_splits
from keras_rnn.files import open_tar
from keras_rnn.validation import validate_choice, validate_fraction

DEFAULT_SUMMARIZATION_CORPUS = "aeslc"
# (document feature, summary feature) of the TFDS summarization builders used without arguments.
TFDS_SUMMARIZATION_FEATURES = {
    "aeslc": ("email_body", "subject_line"),
    "gigaword": ("document", "summary"),
    "cnn_dailymail": ("article", "highlights"),
    "xsum": ("document", "summary"),
    "billsum": ("text", "summary"),
}
TSV_SUFFIXES = (".tsv", ".tsv.gz")
JSONL_SUFFIXES = (".jsonl", ".jsonl.gz", ".jsonl.xz")
ACCEPTED_SUMMARIZATION_SOURCES = (
    "a TFDS summarization builder (aeslc, gigaword, cnn_dailymail, xsum, billsum; any other builder with "
    "document_feature and summary_feature); the AESLC archive aeslc_train_dev.tar.xz or its folder "
    "enron_subject_line/{train,dev,test}/*.subject; a Gigaword folder of line-aligned "
    "<split>.article.txt[.gz] and <split>.title.txt[.gz] files; a .tsv file (gzip accepted) of "
    "'document<TAB>summary' lines; or a .jsonl file (.gz or .xz accepted) of {\"document\": ..., "
    "\"summary\": ...} objects"
)
_AESLC_MEMBER = re.compile(r"(?:^|/)([^/]+)/([^/]+\.subject)$")
_GIGAWORD_FILE = re.compile(r"([^.]+)\.(article|title|src|tgt)(\.filter)?\.txt(\.gz)?")
_ANNOTATION_HEADER = re.compile(r"@ann\d+")


@dataclasses.dataclass
class SummarizationData:
    """Training and validation pairs of one summarization corpus.

    Attributes:
        train: dataset of `(document, summary)` scalar strings.
        validation: same structure: the corpus's own validation split or one carved from train.
        validation_references: for AESLC's dev split read from local files, one list per validation
            example (in dataset order) of the extra human references (`@ann0`..`@ann2`, possibly none);
            `None` for every other source (TFDS `aeslc` does not carry them).
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset
    validation_references: list[list[str]] | None = None


@dataclasses.dataclass
class _Examples:
    documents: list[str]
    summaries: list[str]
    references: list[list[str]] | None = None

    def dataset(self, where: str) -> tf.data.Dataset:
        if not self.documents:
            raise ValueError(f"{where} holds no (document, summary) examples.")
        return tf.data.Dataset.from_tensor_slices((self.documents, self.summaries))


def _is_local(corpus: str) -> bool:
    return is_local_source(corpus) or corpus.lower().endswith(JSONL_SUFFIXES)


def load_summarization(
    corpus: str,
    *,
    split: str = "train",
    document_feature: str | None = None,
    summary_feature: str | None = None,
    validation_corpus: str | None = None,
    validation_fraction: float = 0.05,
    seed: int = 1337,
    validation_split: str = "random",
    data_dir: str | None = None,
    download_and_prepare_kwargs: dict | None = None,
) -> SummarizationData:
    """Loads train and validation `(document, summary)` pairs of a summarization corpus.

    Validation comes from `validation_corpus` when given (its own validation split when it has one,
    else all of it), else the corpus's own validation split (TFDS `validation`; a local `dev`, `valid`,
    `validation` or `val` split), else `validation_fraction` of the training pairs carved off by
    `carve_validation`.

    Args:
        corpus: TFDS name or local path (see the module docstring); `"aeslc"` is the default corpus of
            the summarization task.
        split: the training split (TFDS slicing such as `"train[:10%]"` works). Ignored for single files.
        document_feature, summary_feature: TFDS features or JSONL keys (default: the builder's known
            names, `document` and `summary` for JSONL); for a TSV file, header columns to read.
        validation_fraction: share of the training pairs carved off for validation, in (0, 1).
        seed: seed of the random carve.
        validation_split: how the carve picks its pairs, one of `VALIDATION_SPLITS`: `"random"` (default,
            seeded) or `"chronological"` (the last pairs in corpus order). Like `validation_fraction`
            and `seed`, ignored when the validation pairs come from a corpus rather than a carve.
        data_dir, download_and_prepare_kwargs: passed to `tfds.load`.
    """
    features = dict(document_feature=document_feature, summary_feature=summary_feature)
    tfds_kwargs = dict(data_dir=data_dir, download_and_prepare_kwargs=download_and_prepare_kwargs)
    source = _open_source(corpus, data_dir)
    train_split = source.resolve(split)
    train = source.read(train_split, **features, **tfds_kwargs).dataset(f"{corpus!r} ({split})")
    validation = references = None
    if validation_corpus is not None:
        other = _open_source(validation_corpus, data_dir)
        examples = other.read(other.validation_split() or "train", **features, **tfds_kwargs)
        validation, references = examples.dataset(f"validation corpus {validation_corpus!r}"), examples.references
    else:
        name = source.validation_split()
        # A corpus asked to train on its validation split gets a carved validation, never itself.
        if name is not None and name != train_split:
            examples = source.read(name, **features, **tfds_kwargs)
            validation, references = examples.dataset(f"{corpus!r} ({name})"), examples.references
    if validation is None:
        validate_fraction("validation_fraction", validation_fraction, allow_zero=False)
        validate_choice("validation_split", validation_split, VALIDATION_SPLITS)
        train, validation = carve_validation(train, validation_fraction, seed, validation_split=validation_split)
    return SummarizationData(train, validation, references)


def read_summarization_split(
    corpus: str,
    split: str = "train",
    *,
    document_feature: str | None = None,
    summary_feature: str | None = None,
    data_dir: str | None = None,
    download_and_prepare_kwargs: dict | None = None,
) -> tuple[tf.data.Dataset, list[list[str]] | None]:
    """One split of a summarization corpus as `(document, summary)` pairs, with its references.

    The references are, for a local AESLC split other than train, one list per example of its `@annN`
    human references; `None` otherwise. A local validation split may be asked for by any of the names
    `validation`, `valid`, `val`, `dev`; a single TSV or JSONL file ignores `split`.
    """
    source = _open_source(corpus, data_dir)
    examples = source.read(
        source.resolve(split), document_feature=document_feature, summary_feature=summary_feature,
        data_dir=data_dir, download_and_prepare_kwargs=download_and_prepare_kwargs,
    )
    return examples.dataset(f"{corpus!r} ({split})"), examples.references


# --- Sources ---------------------------------------------------------------------------------------


class _Source:
    """A corpus's split names and a reader per split (subclasses: TFDS, AESLC, Gigaword, one file)."""

    def __init__(self, corpus: str):
        self.corpus = corpus

    def splits(self) -> list[str]:
        return []

    def resolve(self, split: str) -> str:
        """The split's name in this corpus, a validation alias mapped to the name the corpus uses."""
        available = self.splits()
        if not available or split in available:
            return split
        if split in VALIDATION_SPLIT_NAMES and self.validation_split():
            return self.validation_split()
        raise ValueError(f"Corpus {self.corpus!r} has no split {split!r}; its splits are: {', '.join(available)}.")

    def validation_split(self) -> str | None:
        return next((name for name in VALIDATION_SPLIT_NAMES if name in self.splits()), None)

    def read(self, split: str, **kwargs) -> _Examples:
        raise NotImplementedError


def _open_source(corpus: str, data_dir: str | None) -> _Source:
    if not _is_local(corpus):
        return _TfdsSource(corpus, data_dir)
    path = os.path.expanduser(corpus)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Summarization corpus {corpus!r} does not exist. Accepted sources: {ACCEPTED_SUMMARIZATION_SOURCES}."
        )
    lower = path.lower()
    if os.path.isdir(path):
        root = _aeslc_root(path)
        if root is not None:
            return _AeslcSource(corpus, root)
        if _gigaword_files(path):
            return _GigawordSource(corpus, path)
        raise ValueError(
            f"Folder {corpus!r} is neither an AESLC folder (enron_subject_line/<split>/*.subject) nor a Gigaword "
            f"folder (<split>.article.txt[.gz] with <split>.title.txt[.gz]); it holds "
            f"{sorted(os.listdir(path))[:20]}. Accepted sources: {ACCEPTED_SUMMARIZATION_SOURCES}."
        )
    if lower.endswith(ARCHIVE_SUFFIXES):
        return _AeslcSource(corpus, path)
    if lower.endswith(TSV_SUFFIXES):
        return _FileSource(corpus, path, _read_tsv)
    if lower.endswith(JSONL_SUFFIXES):
        return _FileSource(corpus, path, _read_jsonl)
    raise ValueError(
        f"Unsupported summarization corpus file {corpus!r}. Accepted sources: {ACCEPTED_SUMMARIZATION_SOURCES}."
    )


class _FileSource(_Source):
    """One TSV or JSONL file: a single split, no validation of its own."""

    def __init__(self, corpus, path, reader):
        super().__init__(corpus)
        self.path, self.reader = path, reader

    def read(self, split, *, document_feature=None, summary_feature=None, **_):
        return self.reader(self.path, document_feature, summary_feature)


# --- TFDS ------------------------------------------------------------------------------------------


class _TfdsSource(_Source):
    def __init__(self, corpus, data_dir):
        super().__init__(corpus)
        self.data_dir = data_dir
        self.builder = tfds_builder(corpus, data_dir, ACCEPTED_SUMMARIZATION_SOURCES)

    def splits(self):
        # Unprepared builders list no splits; then any split name is passed on to tfds.load.
        return sorted(tfds_splits(self.corpus, self.data_dir, ACCEPTED_SUMMARIZATION_SOURCES))

    def validation_split(self):
        return "validation" if "validation" in self.splits() else None

    def resolve(self, split):
        return split  # TFDS validates split names (and slices) itself

    def read(self, split, *, document_feature=None, summary_feature=None, data_dir=None,
             download_and_prepare_kwargs=None):
        import tensorflow_datasets as tfds

        name = self.corpus
        features = self.builder.info.features
        defaults = TFDS_SUMMARIZATION_FEATURES.get(re.split(r"[/:]", name)[0])
        if defaults is None and (document_feature is None or summary_feature is None):
            raise ValueError(
                f"TFDS corpus {name!r} is not one of the known summarization builders "
                f"({', '.join(TFDS_SUMMARIZATION_FEATURES)}); name its document and summary features with "
                f"document_feature and summary_feature. Its features are: {', '.join(features.keys())}."
            )
        document_feature = document_feature or defaults[0]
        summary_feature = summary_feature or defaults[1]
        for role, feature in (("document", document_feature), ("summary", summary_feature)):
            if feature not in features:
                raise ValueError(
                    f"TFDS corpus {name!r} has no {role} feature {feature!r}; its features are: "
                    f"{', '.join(features.keys())}."
                )
            if not isinstance(features[feature], tfds.features.Text):
                raise ValueError(f"TFDS feature {feature!r} of {name!r} is not text; it is {features[feature]!r}.")
        dataset = load_tfds(name, split, data_dir=self.data_dir,
                            download_and_prepare_kwargs=download_and_prepare_kwargs,
                            accepted_sources=ACCEPTED_SUMMARIZATION_SOURCES)
        pair = lambda ex: (ex[document_feature], ex[summary_feature])  # noqa: E731
        dataset = dataset.map(pair, num_parallel_calls=tf.data.AUTOTUNE)
        return _TfdsExamples(dataset)


class _TfdsExamples(_Examples):
    """A TFDS split is already a dataset; it is never materialised as lists."""

    def __init__(self, dataset):
        super().__init__([], [], None)
        self._dataset = dataset

    def dataset(self, where):
        return self._dataset


# --- AESLC -----------------------------------------------------------------------------------------


def _parse_aeslc(lines: Iterator[str], name: str) -> tuple[str, str, list[str]]:
    """`(email_body, subject_line, references)` of one `.subject` file, given its lines.

    Same rules as TFDS `aeslc`, so that local files give the same examples: the body is every line
    before the first line that is exactly empty (newlines kept, nothing stripped); the line after that
    one (`@subject`) is skipped without being checked; the subject is every following line up to the
    next empty line or the end of the file. Then, beyond TFDS, each `@annN` block (again lines up to an
    empty line, kept as the subject is) is one reference. `lines` must have universal newlines
    ("\\r\\n" and "\\r" read as "\\n"), as a text-mode file gives them.
    """
    lines = iter(lines)
    body = []
    for line in lines:
        if line == "\n":
            break
        body.append(line)
    else:
        raise ValueError(
            f"AESLC file {name} has no empty line after the email body; expected the body, an empty line, "
            "'@subject' and the subject line."
        )
    if next(lines, None) is None:
        raise ValueError(f"AESLC file {name} ends after the email body; expected '@subject' and the subject line.")
    subject = _aeslc_block(lines)
    references = []
    for header in lines:
        if header == "\n":
            continue  # extra empty lines between blocks
        block = _aeslc_block(lines)
        if _ANNOTATION_HEADER.fullmatch(header.rstrip("\n")):
            references.append(block)
    return "".join(body), subject, references


def _aeslc_block(lines: Iterator[str]) -> str:
    block = []
    for line in lines:
        if line == "\n":
            break
        block.append(line)
    return "".join(block)


def _parse_aeslc_bytes(data: bytes, name: str) -> tuple[str, str, list[str]]:
    # A text wrapper, not str.splitlines: only "\n", "\r\n" and "\r" end lines, as in a text-mode file.
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="replace", newline=None)
    return _parse_aeslc(text, name)


def _is_subject_file(name: str) -> bool:
    # Hidden files (macOS `._x.subject` resource forks in archives) are not emails.
    return name.endswith(".subject") and not name.startswith(".")


def _aeslc_split_folders(root: str) -> list[str]:
    return sorted(
        entry.name for entry in os.scandir(root)
        if entry.is_dir() and any(_is_subject_file(name) for name in os.listdir(entry.path))
    )


def _aeslc_root(folder: str) -> str | None:
    """The folder holding `<split>/*.subject`: `folder` itself, its `enron_subject_line`, or one below."""
    candidates = [folder, os.path.join(folder, "enron_subject_line")]
    candidates += sorted(os.path.join(folder, entry, "enron_subject_line") for entry in os.listdir(folder))
    return next((c for c in candidates if os.path.isdir(c) and _aeslc_split_folders(c)), None)


class _AeslcSource(_Source):
    """AESLC from its folder or straight from its archive; files are read in name order."""

    def __init__(self, corpus, path):
        super().__init__(corpus)
        self.path = path
        self._archive_splits = None  # archives are read once, every split at a time (xz is sequential)

    def _archive(self) -> dict[str, _Examples]:
        if self._archive_splits is None:
            files: dict[str, dict[str, tuple[str, bytes]]] = {}
            with open_tar(self.path) as archive:
                for member in archive:
                    match = _AESLC_MEMBER.search(member.name)
                    if member.isfile() and match and _is_subject_file(match.group(2)):
                        split, name = match.groups()
                        if name in files.setdefault(split, {}):
                            raise ValueError(f"{self.path} holds {split}/{name} twice; expected one AESLC copy.")
                        files[split][name] = (member.name, archive.extractfile(member).read())
            if not files:
                raise ValueError(
                    f"Archive {self.corpus!r} holds no AESLC files '<split>/*.subject'. "
                    f"Accepted sources: {ACCEPTED_SUMMARIZATION_SOURCES}."
                )
            self._archive_splits = {
                split: _aeslc_examples(split, [contents[n] for n in sorted(contents)])
                for split, contents in files.items()
            }
        return self._archive_splits

    def splits(self):
        if os.path.isdir(self.path):
            return _aeslc_split_folders(self.path)
        return sorted(self._archive())

    def read(self, split, **_):
        if split not in self.splits():
            raise ValueError(f"AESLC corpus {self.corpus!r} has no split {split!r}; its splits are: {self.splits()}.")
        if not os.path.isdir(self.path):
            return self._archive()[split]
        folder = os.path.join(self.path, split)
        names = sorted(name for name in os.listdir(folder) if _is_subject_file(name))
        files = []
        for name in names:
            with open(os.path.join(folder, name), "rb") as f:
                files.append((os.path.join(folder, name), f.read()))
        return _aeslc_examples(split, files)


def _aeslc_examples(split: str, files: list[tuple[str, bytes]]) -> _Examples:
    parsed = [_parse_aeslc_bytes(data, name) for name, data in files]
    references = None if split == "train" else [refs for _, _, refs in parsed]
    return _Examples([body for body, _, _ in parsed], [subject for _, subject, _ in parsed], references)


# --- Gigaword --------------------------------------------------------------------------------------


def _gigaword_files(folder: str) -> dict[tuple[str, str], str]:
    """`{(split, "document" | "summary"): path}`; `.filter` and uncompressed files preferred."""
    found = {}
    for name in os.listdir(folder):
        match = _GIGAWORD_FILE.fullmatch(name)
        if match and os.path.isfile(os.path.join(folder, name)):
            split, side, filtered, gz = match.groups()
            role = "document" if side in ("article", "src") else "summary"
            found.setdefault((split, role), []).append((not filtered, bool(gz), name))
    return {key: os.path.join(folder, sorted(names)[0][2]) for key, names in found.items()}


class _GigawordSource(_Source):
    def __init__(self, corpus, folder):
        super().__init__(corpus)
        self.folder = folder
        self.files = _gigaword_files(folder)

    def splits(self):
        return sorted({split for split, _ in self.files})

    def read(self, split, **_):
        paths = [self.files.get((split, role)) for role in ("document", "summary")]
        if None in paths:
            raise ValueError(
                f"Gigaword folder {self.corpus!r} needs both {split}.article.txt[.gz] and {split}.title.txt[.gz]; "
                f"it holds {sorted(os.path.basename(p) for p in self.files.values())}."
            )
        columns = []
        for path in paths:
            with _open_text(path) as f:
                # As TFDS `gigaword`: lines stripped, the org_data spelling `<unk>` written `UNK`.
                columns.append([line.strip().replace("<unk>", "UNK") for line in f])
        if len(columns[0]) != len(columns[1]):
            raise ValueError(
                f"{paths[0]} has {len(columns[0])} lines but {paths[1]} has {len(columns[1])}; Gigaword "
                "article and title files must be line-aligned, one example a line."
            )
        return _Examples(*columns)


# --- Single files ----------------------------------------------------------------------------------


def _open_any(path: str):
    if path.lower().endswith(".xz"):
        return lzma.open(path, "rt", encoding="utf-8", errors="replace", newline="\n")
    return _open_text(path)


def _read_tsv(path: str, document_feature: str | None, summary_feature: str | None) -> _Examples:
    """`document<TAB>summary` lines; a header row naming the columns is optional."""
    with _open_any(path) as f:
        rows = [(number, line.rstrip("\r\n").split("\t")) for number, line in enumerate(f, start=1)]
    rows = [(number, row) for number, row in rows if any(cell.strip() for cell in row)]
    columns = (0, 1)
    if document_feature or summary_feature:
        wanted = (document_feature or "document", summary_feature or "summary")
        header = rows[0][1] if rows else []
        for role, column in zip(("document", "summary"), wanted):
            if column not in header:
                raise ValueError(
                    f"{path} has no {role} column {column!r} in its header row; the header is {header}."
                )
        columns, rows = tuple(header.index(c) for c in wanted), rows[1:]
    elif rows and [cell.strip().lower() for cell in rows[0][1]] == ["document", "summary"]:
        rows = rows[1:]
    documents, summaries = [], []
    for number, row in rows:
        if len(row) <= max(columns) or (columns == (0, 1) and len(row) != 2):
            raise ValueError(
                f"{path}: line {number} has {len(row)} tab-separated column(s); expected 'document<TAB>summary' "
                f"(two columns): {row[0][:80]!r}."
            )
        documents.append(row[columns[0]])
        summaries.append(row[columns[1]])
    return _Examples(documents, summaries)


def _read_jsonl(path: str, document_feature: str | None, summary_feature: str | None) -> _Examples:
    keys = (document_feature or "document", summary_feature or "summary")
    documents, summaries = [], []
    with _open_any(path) as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as error:
                raise ValueError(f"{path}: line {number} is not JSON ({error.msg}): {line[:80]!r}.") from error
            if not isinstance(record, dict):
                raise ValueError(f"{path}: line {number} is not a JSON object: {line[:80]!r}.")
            values = []
            for role, key in zip(("document", "summary"), keys):
                if key not in record:
                    raise ValueError(
                        f"{path}: line {number} has no {role} key {key!r}; its keys are {sorted(record)}. Name the "
                        f"keys with document_feature and summary_feature."
                    )
                value = record[key]
                # Summaries stored as a list of sentences (CNN/DailyMail highlights) become one per line.
                if isinstance(value, list) and all(isinstance(v, str) for v in value):
                    value = "\n".join(value)
                if not isinstance(value, str):
                    raise ValueError(
                        f"{path}: line {number}: {key!r} is {type(value).__name__}; expected a string or a list "
                        "of strings."
                    )
                values.append(value)
            documents.append(values[0])
            summaries.append(values[1])
    return _Examples(documents, summaries)
