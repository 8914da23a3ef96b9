"""Everything a request handler may use, built once by ``app.py``."""

from __future__ import annotations

import dataclasses

from pkgdepot.config import Settings
from pkgdepot.mirror.clients import UpstreamClients
from pkgdepot.mirror.files import MirrorFiles
from pkgdepot.mirror.lists import MirrorLists
from pkgdepot.mirror.pages import MirrorPages
from pkgdepot.service.accounts import Accounts
from pkgdepot.service.docs import Docs
from pkgdepot.service.indexes import Catalog, Indexes
from pkgdepot.service.projects import Projects
from pkgdepot.service.push import Pushes
from pkgdepot.service.toxresults import ToxResults
from pkgdepot.service.uploads import Uploads
from pkgdepot.storage.blobs import BlobStore
from pkgdepot.storage.meta import MetaStore


@dataclasses.dataclass(frozen=True)
class Services:
    settings: Settings
    store: MetaStore
    blobs: BlobStore
    catalog: Catalog
    accounts: Accounts
    indexes: Indexes
    projects: Projects
    uploads: Uploads
    docs: Docs
    toxresults: ToxResults
    pushes: Pushes
    upstreams: UpstreamClients
    mirror_pages: MirrorPages
    mirror_files: MirrorFiles
    mirror_lists: MirrorLists
    node_uuid: str
    started_at: float
