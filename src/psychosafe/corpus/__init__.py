"""The PsychoSafe corpus: loading and stratified selection."""

from psychosafe.corpus.load import corpus_files, load_corpus, select
from psychosafe.corpus.sample import stratified_order, stratified_sample

__all__ = ["corpus_files", "load_corpus", "select", "stratified_order", "stratified_sample"]
