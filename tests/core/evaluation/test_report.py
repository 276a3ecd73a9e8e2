from html.parser import HTMLParser

import numpy as np

from nnstudio.core.evaluation import (
    classification_diagnostics, regression_diagnostics, summarise_classification_uncertainty,
    summarise_conformal_regression, summarise_regression_uncertainty,
)
from nnstudio.core.evaluation.report import html_report, write_html_report
from nnstudio.core.evaluation.svg import nice_ticks


class Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def parse(html):
    c = Collector()
    c.feed(html)
    return c


def test_classification_report_is_self_contained_and_escaped():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    p = np.clip(y * 0.6 + rng.random(300) * 0.4, 0, 1)
    html = html_report({
        "title": "Lens <script>alert(1)</script>",
        "data": {"file": "cutouts & labels.fits", "train": 180},
        "model_summary": "Dense(16) -> <Dropout>",
        "history": {"loss": [0.7, 0.5, 0.4, 0.35], "val_loss": [0.7, 0.55, 0.45, 0.42],
                    "accuracy": [0.5, 0.7, 0.8, 0.85]},
        "classification": classification_diagnostics(y, p, ["not lens", "lens"]),
        "uncertainty": summarise_classification_uncertainty(p, y, 1.3),
        "images": {"cutouts": b"\x89PNG\r\n fake"},
    })
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "cutouts &amp; labels.fits" in html and "&lt;Dropout&gt;" in html
    c = parse(html)
    assert c.tags.count("svg") >= 6         # loss, accuracy, confusion, ROC, PR, 2 reliability
    assert "src" not in html.replace('src="data:image/png;base64,', "")   # nothing external
    text = " ".join(c.text)
    for word in ("Confusion matrix", "ROC", "Precision–recall", "not lens", "ECE"):
        assert word in text


def test_regression_report_and_atomic_write(tmp_path):
    rng = np.random.default_rng(1)
    t = rng.normal(size=2000)
    sigma = rng.uniform(0.1, 0.5, 2000)
    mu = t + rng.normal(0, sigma)
    ctx = {"regression": regression_diagnostics(t, mu),
           "uncertainty": summarise_regression_uncertainty(t, mu, sigma, method="heteroscedastic"),
           "conformal": summarise_conformal_regression(t[:500], mu[:500], t[500:], mu[500:], 0.05),
           "metrics": {"rmse": 0.3, "note": None}}
    html = html_report(ctx)
    text = " ".join(parse(html).text)
    for word in ("Predicted against true", "Residual histogram", "PIT", "Conformal prediction",
                 "coverage_95", "rmse"):
        assert word in text
    out = tmp_path / "report.html"
    write_html_report(out, ctx)
    assert out.read_text(encoding="utf-8") == html
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_nice_ticks():
    np.testing.assert_allclose(nice_ticks(0, 1), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
    np.testing.assert_allclose(nice_ticks(-3.3, 7.1), [-2, 0, 2, 4, 6])
