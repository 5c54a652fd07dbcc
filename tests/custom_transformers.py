"""A user-written transformer: code that is not on modelcards' allow-list."""

from sklearn.base import BaseEstimator, TransformerMixin


class AddOne(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X + 1


class TimesTwo(TransformerMixin, BaseEstimator):
    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X * 2
