"""Lexical text: cleaning (`clean`), words (`tokens`), and TF-IDF, LSI and passages
(`matrices`); language-aware, no encoder needed.

No re-exports here: the encoding child imports `text.clean` alone, without scipy.
"""
