from tests.support.databases import *  # noqa: F403
from tests.support.sandbox_fixtures import sandbox_url, toss  # noqa: F401
