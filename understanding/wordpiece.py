"""BERT's uncased WordPiece tokenizer, as all-MiniLM-L6-v2 was trained with.

Clean the text, lowercase, strip accents, split off punctuation, then cut each word into the
longest pieces found in vocab.txt ("##" marks a piece that continues a word).
"""

from __future__ import annotations

import unicodedata
from pathlib import Path


def _is_punctuation(char: str) -> bool:
    code = ord(char)
    # BERT treats every non-alphanumeric ASCII character as punctuation ("$", "^", "`" too).
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _is_cjk(code: int) -> bool:
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0x20000 <= code <= 0x2A6DF
        or 0x2A700 <= code <= 0x2B81F
        or 0xF900 <= code <= 0xFAFF
        or 0x2F800 <= code <= 0x2FA1F
    )


class WordPiece:
    """BERT's uncased tokenizer: clean, lowercase, strip accents, split punctuation, then
    greedy longest-match-first word pieces from vocab.txt ("##" marks a continuation)."""

    def __init__(self, vocab_path: Path, first: str = "[CLS]", last: str = "[SEP]") -> None:
        words = vocab_path.read_text(encoding="utf-8").splitlines()
        self.ids = {word: index for index, word in enumerate(words)}
        self.unknown = self.ids["[UNK]"]
        self.cls = self.ids[first]
        self.sep = self.ids[last]

    def words(self, text: str) -> list[str]:
        """The basic tokenizer: the words and punctuation marks that get word pieces."""
        cleaned = []
        for char in text:
            code = ord(char)
            is_control = unicodedata.category(char) in ("Cc", "Cf") and char not in "\t\n\r"
            if code == 0 or code == 0xFFFD or is_control:
                continue
            if _is_cjk(code):
                cleaned.append(f" {char} ")
            elif char.isspace():
                cleaned.append(" ")
            else:
                cleaned.append(char)
        words: list[str] = []
        for word in "".join(cleaned).lower().split():
            word = "".join(
                c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn"
            )
            current = ""
            for char in word:
                if _is_punctuation(char):
                    if current:
                        words.append(current)
                    words.append(char)
                    current = ""
                else:
                    current += char
            if current:
                words.append(current)
        return words

    def pieces(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unknown]
        found: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            while end > start:
                candidate = word[start:end] if start == 0 else "##" + word[start:end]
                if candidate in self.ids:
                    found.append(self.ids[candidate])
                    break
                end -= 1
            else:
                return [self.unknown]  # as BERT does: one unknown piece for the whole word
            start = end
        return found

    def encode(self, text: str) -> list[int]:
        """Piece ids of a text, without [CLS]/[SEP]."""
        return [piece for word in self.words(text) for piece in self.pieces(word)]
