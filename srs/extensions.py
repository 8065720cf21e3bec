"""Flask extensions, created once and bound to the app in create_app()."""

from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_sqlalchemy.session import Session
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.sql import CompoundSelect, Select

# Named constraints make Alembic migrations portable between SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# app.extensions: the replica engine, when SRS_DATABASE_REPLICA_URL is set
REPLICA_ENGINE = "srs_replica_engine"
REPLICA_ON = "srs_replica_on"  # session.info: inside a read path that may read the replica (depth)
REPLICA_WROTE = "srs_replica_wrote"  # session.info: that read path has written
REPLICA_COMMITTED_WRITE = "srs_replica_commit_write"  # session.info: this transaction has written


def _plain_select(clause: Any) -> bool:
    return isinstance(clause, (Select, CompoundSelect)) and getattr(clause, "_for_update_arg", None) is None


class RoutingSession(Session):
    """``db.session``: inside a read path (srs/core/replica.py) plain SELECTs go to the replica.

    Everything else goes to the primary: flushes, INSERT/UPDATE/DELETE, text statements, SELECT ...
    FOR UPDATE, and the path's reads once it has written (only the primary has those rows yet).
    """

    def get_bind(self, mapper: Any = None, clause: Any = None, bind: Any = None, **kwargs: Any) -> Any:
        if bind is None and not _plain_select(clause):
            self.info[REPLICA_COMMITTED_WRITE] = True
            if self.info.get(REPLICA_ON):
                self.info[REPLICA_WROTE] = True
        elif bind is None and self.info.get(REPLICA_ON) and not self.info.get(REPLICA_WROTE):
            return current_app.extensions[REPLICA_ENGINE]
        return super().get_bind(mapper=mapper, clause=clause, bind=bind, **kwargs)


db = SQLAlchemy(model_class=Base, session_options={"class_": RoutingSession})

# The base class of every SRS model: ``class Client(Model)``. At run time it is Flask-SQLAlchemy's
# db.Model (Base plus the session binding); db.Model is an attribute a type checker cannot subclass,
# so mypy is told the class it is built from, and sees each model's Mapped[...] columns.
if TYPE_CHECKING:

    class Model(Base):
        __abstract__ = True

else:
    Model = db.Model
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address)
