"""Corpus name or path → training and validation documents for a language model.

Sources:
- a TFDS name: `tiny_shakespeare` (one document a split), `imdb_reviews`, `aeslc` (email bodies) or any
  builder with a text feature (`text_feature`, else the first of `TEXT_FEATURES` it has);
- a plain-text file (`.txt`, optionally `.gz`): one document, or one a non-empty line
  (`document_unit="line"`);
- a folder of split files (`train.txt` beside `validation.txt` / `valid.txt` / `dev.txt` / `val.txt`, as
  `../shared/data/tiny_shakespeare/` is laid out), an AESLC folder or archive (the email bodies), an
  `aclImdb`-style folder or archive of `<class>/*.txt` (the reviews, labels ignored), or any other folder
  of `.txt` files (every file, in path order, is a training document).

Validation is the corpus's own validation split when it has one, else carved from training without
overlap: the last documents (`validation_split="chronological"`, the default) or seeded random ones
(`"random"`, only between whole documents). A corpus of a single document is cut once, at the line
break nearest to `1 - validation_fraction` of its length, so no validation text is ever inside a
training window.
"""

from __future__ import annotations

import dataclasses
import gzip
import os


from keras_rnn.data.corpora import (
    ARCHIVE_SUFFIXES, _class_folders, _extract_archive, _find_split_root, random_carve,
)
from keras_rnn.data.tfds_source import load_tfds, tfds_splits
from keras_rnn.validation import validate_choice, validate_fraction

TEXT_SUFFIXES = (".txt", ".txt.gz", ".text")
DOCUMENT_UNITS = ("file", "line")  # what one document of a local text file or folder is
VALIDATION_NAMES = ("validation", "valid", "dev", "val")
# The validation split of TFDS builders this task reads by default: an unprepared builder lists no splits,
# and its first load would otherwise carve validation from train instead of using the corpus's own.
TFDS_VALIDATION_SPLITS = {"tiny_shakespeare": "validation", "aeslc": "validation"}
TEXT_FEATURES = ("text", "email_body", "document", "article", "content", "sentence", "review")
ACCEPTED_LM_SOURCES = (
    "a TFDS name such as 'tiny_shakespeare', 'imdb_reviews' or 'aeslc'; a .txt file (gzip accepted); a folder "
    "of split files (train.txt with validation.txt, valid.txt, dev.txt or val.txt); an AESLC or aclImdb "
    "folder or .tar[.gz|.xz] archive; or a folder of .txt files"
)


@dataclasses.dataclass
class Documents:
    """Training and validation texts of one corpus, and where validation came from."""

    train: list[str]
    validation: list[str]
    validation_source: str  # "corpus split <name>", "validation corpus", "carved: chronological", ...


def _is_local(corpus: str) -> bool:
    return os.path.exists(os.path.expanduser(corpus)) or corpus.startswith((".", "/", "~")) or corpus.lower().endswith(
        TEXT_SUFFIXES + ARCHIVE_SUFFIXES)


def _read_text_file(path: str) -> str:
    opener = gzip.open if path.lower().endswith(".gz") else open
    with opener(path, "rb") as f:
        return f.read().decode("utf-8", errors="replace")


def _split_documents(text: str, document_unit: str) -> list[str]:
    if document_unit == "line":
        return [line for line in text.splitlines() if line.strip()]
    return [text] if text.strip() else []


class _Corpus:
    """Split names and a reader of one split's documents."""

    def __init__(self, corpus: str, document_unit: str, text_feature: str | None, data_dir: str | None,
                 download_and_prepare_kwargs: dict | None):
        self.corpus, self.document_unit, self.text_feature = corpus, document_unit, text_feature
        self.data_dir, self.download_and_prepare_kwargs = data_dir, download_and_prepare_kwargs
        self.kind, self.path = self._identify()

    def _identify(self) -> tuple[str, str | None]:
        if not _is_local(self.corpus):
            return "tfds", None
        path = os.path.expanduser(self.corpus)
        if not os.path.exists(path):
            raise FileNotFoundError(f"Language-model corpus {self.corpus!r} does not exist. Accepted sources: "
                                    f"{ACCEPTED_LM_SOURCES}.")
        if os.path.isfile(path):
            lower = path.lower()
            if lower.endswith(ARCHIVE_SUFFIXES):
                path = _extract_archive(path)
            elif lower.endswith(TEXT_SUFFIXES):
                return "file", path
            else:
                raise ValueError(f"Unsupported language-model corpus file {self.corpus!r}. Accepted sources: "
                                 f"{ACCEPTED_LM_SOURCES}.")
        from keras_rnn.data.summarization import _aeslc_root

        if self._split_files(path):
            return "split_files", path
        if _aeslc_root(path) is not None:
            return "aeslc", _aeslc_root(path)
        if self._is_class_layout(path):
            return "classes", path
        return "folder", path

    @staticmethod
    def _is_class_layout(folder: str) -> bool:
        """An aclImdb-style corpus: a `train/` of two or more class folders, or two or more class folders
        and no text files of its own (a folder of texts in sub-folders is read file by file instead)."""
        train = os.path.join(folder, "train")
        if os.path.isdir(train) and len(_class_folders(train)) >= 2:
            return True
        nested = _find_split_root(folder, "train")
        if nested is not None and os.path.basename(nested) == "train" and len(_class_folders(nested)) >= 2:
            return True
        own_texts = any(name.lower().endswith(TEXT_SUFFIXES) for name in os.listdir(folder))
        return not own_texts and len(_class_folders(folder)) >= 2

    @staticmethod
    def _split_files(folder: str) -> dict[str, str]:
        files = {}
        for name in sorted(os.listdir(folder)):
            for suffix in TEXT_SUFFIXES:
                if name.lower().endswith(suffix) and os.path.isfile(os.path.join(folder, name)):
                    files[name[: -len(suffix)]] = os.path.join(folder, name)
        return files if "train" in files and any(v in files for v in VALIDATION_NAMES) else {}

    def splits(self) -> list[str]:
        if self.kind == "tfds":
            return sorted(tfds_splits(self.corpus, self.data_dir, ACCEPTED_LM_SOURCES))
        if self.kind == "split_files":
            return sorted(self._split_files(self.path))
        if self.kind == "aeslc":
            from keras_rnn.data.summarization import _aeslc_split_folders

            return _aeslc_split_folders(self.path)
        return ["train"]

    def validation_split(self) -> str | None:
        splits = self.splits()
        if self.kind == "tfds" and not splits:
            return TFDS_VALIDATION_SPLITS.get(self.corpus.split("/")[0].split(":")[0])
        return next((name for name in VALIDATION_NAMES if name in splits), None)

    def read(self, split: str) -> list[str]:
        if self.kind == "tfds":
            return self._read_tfds(split)
        if self.kind in ("file", "folder", "classes") and split != "train":
            raise ValueError(f"Corpus {self.corpus!r} has only a training split, not {split!r}.")
        if self.kind == "file":
            return _split_documents(_read_text_file(self.path), self.document_unit)
        if self.kind == "split_files":
            files = self._split_files(self.path)
            if split not in files:
                raise ValueError(f"Corpus {self.corpus!r} has no split {split!r}; its splits are: {sorted(files)}.")
            return _split_documents(_read_text_file(files[split]), self.document_unit)
        if self.kind == "aeslc":
            from keras_rnn.data.summarization import read_summarization_split

            pairs, _ = read_summarization_split(self.path, split)
            return [document.decode("utf-8", errors="replace") for document, _ in pairs.as_numpy_iterator()]
        if self.kind == "classes":
            from keras_rnn.data.corpora import read_classification_split

            reviews, _ = read_classification_split(self.path, split)
            return [text.decode("utf-8", errors="replace") for text, _ in reviews.as_numpy_iterator()]
        documents = []
        for root, dirs, names in sorted(os.walk(self.path)):
            dirs.sort()
            for name in sorted(names):
                if name.lower().endswith(TEXT_SUFFIXES):
                    documents.extend(_split_documents(_read_text_file(os.path.join(root, name)), self.document_unit))
        return documents

    def _read_tfds(self, split: str) -> list[str]:
        dataset = load_tfds(self.corpus, split, data_dir=self.data_dir,
                            download_and_prepare_kwargs=self.download_and_prepare_kwargs,
                            accepted_sources=ACCEPTED_LM_SOURCES)
        features = dataset.element_spec
        feature = self.text_feature or next((name for name in TEXT_FEATURES if name in features), None)
        if feature not in features:
            raise ValueError(f"TFDS dataset {self.corpus!r} has no text feature {feature!r}; its features are "
                             f"{sorted(features)}; pass --text-feature.")
        documents = []
        for example in dataset.as_numpy_iterator():
            documents.extend(_split_documents(example[feature].decode("utf-8", errors="replace"), self.document_unit))
        return documents


def read_documents(corpus: str, split: str = "train", *, document_unit: str = "file", text_feature: str | None = None,
                   data_dir: str | None = None, download_and_prepare_kwargs: dict | None = None) -> list[str]:
    """The documents of one split of a corpus (see the module docstring for the sources); `split` may be
    any of the validation names when the corpus calls its validation split otherwise."""
    source = _Corpus(corpus, document_unit, text_feature, data_dir, download_and_prepare_kwargs)
    if split in VALIDATION_NAMES and split not in source.splits() and source.validation_split():
        split = source.validation_split()
    return source.read(split)


def load_documents(
    corpus: str,
    *,
    split: str = "train",
    validation_corpus: str | None = None,
    validation_fraction: float = 0.05,
    validation_split: str = "chronological",
    seed: int = 1337,
    document_unit: str = "file",
    text_feature: str | None = None,
    data_dir: str | None = None,
    download_and_prepare_kwargs: dict | None = None,
) -> Documents:
    """Training and validation documents (see the module docstring for where validation comes from).

    Raises:
        ValueError: a split holds no text, or an argument is not one of the accepted values.
    """
    validate_choice("document_unit", document_unit, DOCUMENT_UNITS)
    options = dict(document_unit=document_unit, text_feature=text_feature, data_dir=data_dir,
                   download_and_prepare_kwargs=download_and_prepare_kwargs)
    source = _Corpus(corpus, **options)
    train = source.read(split)
    if not train:
        raise ValueError(f"Corpus {corpus!r} ({split}) holds no text to train a language model on.")
    if validation_corpus is not None:
        other = _Corpus(validation_corpus, **options)
        validation = other.read(other.validation_split() or "train")
        where = f"validation corpus {validation_corpus}"
    elif source.validation_split() not in (None, split):
        validation = source.read(source.validation_split())
        where = f"corpus split {source.validation_split()}"
    else:
        validate_fraction("validation_fraction", validation_fraction, allow_zero=False)
        validate_choice("validation_split", validation_split, ("random", "chronological"))
        train, validation = carve_documents(train, validation_fraction, validation_split, seed)
        where = f"carved: {validation_split if len(train) > 1 or len(validation) > 1 else 'last part of the text'}"
    if not validation:
        raise ValueError(f"The validation split of {corpus!r} ({where}) holds no text.")
    return Documents(train, validation, where)


def carve_documents(documents: list[str], fraction: float, how: str, seed: int) -> tuple[list[str], list[str]]:
    """Training and validation documents carved from `documents`: the last `fraction` of them
    (`"chronological"`) or a seeded random `fraction` (`"random"`); one document is cut at a line break.

    Example:
    >>> carve_documents(["a", "b", "c", "d"], 0.25, "chronological", 0)
    (['a', 'b', 'c'], ['d'])
    >>> carve_documents(["one\\ntwo\\nthree\\nfour\\n"], 0.25, "chronological", 0)
    (['one\\ntwo\\nthree\\n'], ['four\\n'])
    """
    if len(documents) == 1:
        text = documents[0]
        cut = int(round(len(text) * (1 - fraction)))
        # The nearest line break at or after the cut, else before it, else the cut itself.
        after, before = text.find("\n", cut), text.rfind("\n", 0, cut)
        if after != -1 and (before == -1 or after - cut <= cut - before):
            cut = after + 1
        elif before != -1:
            cut = before + 1
        if not 0 < cut < len(text):
            raise ValueError(f"A text of {len(text)} characters is too short to carve a validation part from.")
        return [text[:cut]], [text[cut:]]
    size = max(1, int(round(len(documents) * fraction)))
    if size >= len(documents):
        raise ValueError(f"validation_fraction={fraction} of {len(documents)} documents leaves none for training.")
    if how == "chronological":
        return documents[:-size], documents[-size:]
    return random_carve(documents, size, seed)
