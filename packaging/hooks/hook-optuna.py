# optuna's RDBStorage (the sqlite file a sweep resumes from) checks its schema with alembic, which
# reads alembic.ini and the migration scripts as files: collect them as files, .py included.
from PyInstaller.utils.hooks import collect_data_files, collect_submodules

datas = collect_data_files("optuna", include_py_files=True,
                           includes=["storages/_rdb/alembic.ini", "storages/_rdb/alembic/**/*"])
# the migration scripts import these at run time
hiddenimports = collect_submodules("optuna.storages._rdb") + ["alembic.ddl.sqlite", "sqlalchemy.dialects.sqlite",
                                                             "sqlalchemy.ext.declarative"]
