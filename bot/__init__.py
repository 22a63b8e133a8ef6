"""Python side of the Harbor Assist bot: model building, evaluation and the stack launcher."""
