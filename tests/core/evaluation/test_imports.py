import subprocess
import sys


def test_import_is_cheap_and_qt_free():
    code = ("import sys, nnstudio.core.evaluation\n"
            "heavy = [m for m in ('sklearn', 'scipy', 'keras', 'tensorflow', 'PySide6', 'pyqtgraph',"
            " 'nnstudio.gui') if m in sys.modules]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
