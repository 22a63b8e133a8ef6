"""The editors' pages: FAQ topics through the FAQ tool, publish jobs, unanswered questions."""
