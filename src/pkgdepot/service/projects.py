"""Reading projects through an index's inheritance chain, and changing them in place."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from operator import itemgetter
from typing import Any

from pkgdepot.domain.models import Index, PageLink, ReleaseFile
from pkgdepot.domain.names import version_sort_key
from pkgdepot.domain.permissions import Identity, Policy
from pkgdepot.domain.resolve import MirrorDecision, merge_first_wins, visible_order
from pkgdepot.errors import Forbidden, Gone, InvalidInput, NotFound, Unauthorized
from pkgdepot.service.indexes import Catalog
from pkgdepot.storage.meta import MetaStore
from pkgdepot.storage.transaction import Transaction

Href = Callable[[str], str]  # relpath -> absolute URL
_filename, _version = itemgetter(0), itemgetter(1)  # of a PageLink
MAX_YANK_REASON = 500


@dataclasses.dataclass(frozen=True)
class ProjectPage:
    """What a simple page of one project shows, merged over the chain."""

    index: str
    project: str
    files: list[ReleaseFile]
    versions: list[str]
    hidden_mirrors: list[str]  # mirrors in the chain whose releases the whitelist rule hid


@dataclasses.dataclass(frozen=True)
class SimplePage:
    """A simple page's files as pre-rendered fragments in page order, merged over the chain."""

    project: str
    links: list[PageLink]
    versions: list[str]
    hidden_mirrors: list[str]  # mirrors in the chain whose releases the whitelist rule hid


@dataclasses.dataclass(frozen=True)
class ProjectView:
    """A project page together with each version's metadata, first index in the chain wins."""

    page: ProjectPage
    metadata: dict[str, dict[str, Any]]


@dataclasses.dataclass(frozen=True)
class Chain:
    order: list[Index]
    visible: list[Index]
    having: set[int]
    decision: MirrorDecision

    @property
    def with_project(self) -> list[Index]:
        return [index for index in self.visible if index.id in self.having]


def link_view(file: ReleaseFile, href: Href) -> dict[str, Any]:
    view: dict[str, Any] = {
        "rel": file.kind,
        "href": href(file.relpath),
        "hash_spec": f"sha256={file.sha256}",
        "hashes": {"sha256": file.sha256},
        "log": [dict(entry) for entry in file.log],
    }
    if file.for_relpath:
        view["for_href"] = href(file.for_relpath)
    if file.kind == "releasefile":
        view["size"] = file.size
        view["upload_time"] = file.upload_time
        if file.yanked is not None:
            view["yanked"] = file.yanked or True
    return view


class Projects:
    def __init__(
        self, store: MetaStore, catalog: Catalog, policy: Policy, *, offline: bool = False
    ) -> None:
        self._store = store
        self.catalog = catalog
        self.policy = policy
        self.offline = offline  # offline mode: mirrors show only the files that are cached

    # reading

    def chain(self, index: Index, project: str, *, ignore_bases: bool = False) -> Chain:
        order = [index] if ignore_bases else self.catalog.order(index)
        having = self._store.indexes_having(project, [i.id for i in order])
        by_path = {i.path: i.id for i in order}
        visible, decision = visible_order(project, order, lambda p: by_path[p] in having)
        return Chain(order, visible, having, decision)

    def mirrors_to_sync(self, index: Index, project: str) -> tuple[list[Index], bool]:
        """The mirrors of the chain whose releases of ``project`` a view merges (the whitelist
        rule may hide them all), and whether a private index of the chain has the project."""
        chain = self.chain(index, project)
        mirrors = [i for i in chain.visible if i.is_mirror]
        private = any(i.id in chain.having for i in chain.order if not i.is_mirror)
        return mirrors, private

    def state(self, index: Index, project: str) -> tuple[tuple[int, int, int], ...]:
        """Changes whenever anything a page of this project shows may have changed."""
        order = self.catalog.order(index)
        serials = self._store.project_serials(project, [i.id for i in order])
        return tuple((i.id, i.serial, serials.get(i.id, 0)) for i in order)

    def page(self, index: Index, project: str) -> ProjectPage:
        return self._page(index, project, self._existing_chain(index, project))

    def view(self, index: Index, project: str) -> ProjectView:
        """The page and the version metadata, from one resolution of the chain."""
        chain = self._existing_chain(index, project)
        metadata: dict[str, dict[str, Any]] = {}
        for i in chain.with_project:
            for version, data in self._store.releases(i.id, project).items():
                metadata.setdefault(version, data)
        return ProjectView(self._page(index, project, chain), metadata)

    def _existing_chain(self, index: Index, project: str, *, ignore_bases: bool = False) -> Chain:
        chain = self.chain(index, project, ignore_bases=ignore_bases)
        if not chain.with_project:
            raise NotFound(f"The project {project} does not exist.")
        return chain

    def _page(self, index: Index, project: str, chain: Chain) -> ProjectPage:
        groups = [self._files(i, project) for i in chain.with_project]
        files = merge_first_wins(groups, key=lambda f: f.filename)
        files.sort(key=lambda f: (version_sort_key(f.version), f.filename))
        versions = {f.version for f in files}
        for i in chain.with_project:
            versions.update(self._store.releases(i.id, project))
        return ProjectPage(
            index=index.path,
            project=project,
            files=files,
            versions=sorted(versions, key=version_sort_key),
            hidden_mirrors=[i.path for i in chain.order if i.is_mirror and i not in chain.visible],
        )

    def _cached_only(self, index: Index) -> bool:
        return self.offline and index.is_mirror

    def _files(
        self, index: Index, project: str, kind: str | None = "releasefile"
    ) -> list[ReleaseFile]:
        files = self._store.files_of_project(index, project, kind)
        if self._cached_only(index):
            return [file for file in files if file.cached]
        return files

    def simple_page(self, index: Index, project: str, fmt: str) -> SimplePage:
        """Built for speed: a project can have thousands of versions and files.

        ``fmt`` is ``html`` or ``json``: which pre-rendered fragment each link carries.
        """
        chain = self._existing_chain(index, project)
        groups = [
            self._store.links_of_project(i.id, project, fmt, cached_only=self._cached_only(i))
            for i in chain.with_project
        ]
        links = groups[0] if len(groups) == 1 else merge_first_wins(groups, _filename)
        # PEP 700: the versions that have files. A dict, not a set: rows come in nearly sorted
        # order, which makes sorting thousands of versions several times cheaper.
        versions = dict.fromkeys(map(_version, links))
        ordered = sorted(versions, key=version_sort_key)
        # By version, then filename; each version is parsed once, not once per file.
        rank = {version: n for n, version in enumerate(ordered)}
        links.sort(key=_filename)
        links.sort(key=lambda link: rank[link[1]])  # stable: filenames stay sorted
        return SimplePage(
            project=project,
            links=links,
            versions=ordered,
            hidden_mirrors=[i.path for i in chain.order if i.is_mirror and i not in chain.visible],
        )

    def list_state(self, index: Index) -> tuple[tuple[int, int, int, int], ...]:
        """Changes whenever the project list of ``index`` may have changed."""
        order = self.catalog.order(index)
        counts = self._store.project_list_state([i.id for i in order])
        return tuple((i.id, i.serial, *counts.get(i.id, (0, 0))) for i in order)

    def project_names(self, index: Index) -> list[str]:
        names: set[str] = set()
        for i in self.catalog.order(index):
            names.update(self._store.project_names(i.id))
        return sorted(names)

    def versions(
        self, index: Index, project: str, href: Href, *, ignore_bases: bool = False
    ) -> dict[str, dict[str, Any]]:
        """``projectconfig``: version -> versiondata, first index in the chain wins."""
        chain = self._existing_chain(index, project, ignore_bases=ignore_bases)
        result: dict[str, dict[str, Any]] = {}
        for i in chain.with_project:
            for version, data in self._version_data(i, project, href).items():
                if version in result:
                    result[version].setdefault("+shadowing", []).append(data)
                else:
                    result[version] = data
        return result

    def _version_data(self, index: Index, project: str, href: Href) -> dict[str, dict[str, Any]]:
        data = {v: dict(m) for v, m in self._store.releases(index.id, project).items()}
        display = self._store.display_name(index.id, project) or project
        for file in self._files(index, project, kind=None):
            entry = data.setdefault(file.version, {"name": display, "version": file.version})
            entry.setdefault("+links", []).append(link_view(file, href))
        for version, entry in data.items():
            entry.setdefault("name", display)
            entry.setdefault("version", version)
            entry.setdefault("+links", [])
        return data

    def version(
        self, index: Index, project: str, version: str, href: Href, *, ignore_bases: bool = False
    ) -> dict[str, Any]:
        versions = self.versions(index, project, href, ignore_bases=ignore_bases)
        if version not in versions:
            raise NotFound(f"The version {version} of project {project} does not exist.")
        return versions[version]

    def file(self, index: Index, relpath: str) -> ReleaseFile:
        file = self._store.get_file(index, relpath)
        if file is None:
            if self._store.was_deleted(relpath):
                raise Gone(f"file {relpath} existed, deleted in later serial")
            raise NotFound(f"no file {relpath}")
        return file

    # changing

    def authorize(self, who: Identity, index: Index, doing: str) -> None:
        """Deleting and yanking: the index's uploaders, its owner and root (devpi's del_entry)."""
        if self.policy.may_delete_entries(who, index):
            return
        if who.user is None:
            raise Unauthorized(f"authentication required to {doing} on {index.path}")
        raise Forbidden(f"user {who.user!r} has no permission to {doing} on {index.path}")

    def _check_volatile(self, index: Index, force: bool, what: str) -> None:
        if not index.volatile and not force:
            raise Forbidden(
                f"cannot delete {what} on non-volatile index {index.path} without ?force"
            )

    def delete_project(self, who: Identity, index: Index, project: str, force: bool) -> None:
        self.authorize(who, index, "delete projects")
        if index.id not in self._store.indexes_having(project, [index.id]):
            raise NotFound(f"project {project} not found on {index.path}")
        self._check_volatile(index, force, f"project {project}")
        with self._store.transaction(who.user) as tx:
            tx.delete_project(index.id, index.path, project)
            _forget_mirrored(tx, index, project)

    def delete_version(
        self, who: Identity, index: Index, project: str, version: str, force: bool
    ) -> None:
        self.authorize(who, index, "delete versions")
        data = self._version_data(index, project, str)
        if version not in data:
            raise NotFound(f"version {version} of project {project} not found on {index.path}")
        self._check_volatile(index, force, f"version {version} of {project}")
        with self._store.transaction(who.user) as tx:
            tx.delete_version(index.id, index.path, project, version)
            if len(data) == 1:
                tx.delete_project(index.id, index.path, project)
            else:
                tx.touch_project(index.id, project, project)
            _forget_mirrored(tx, index, project)

    def delete_file(self, who: Identity, index: Index, relpath: str, force: bool) -> None:
        self.authorize(who, index, "delete files")
        file = self.file(index, relpath)
        self._check_volatile(index, force, f"file {file.filename}")
        with self._store.transaction(who.user) as tx:
            tx.delete_file(index.id, index.path, relpath)
            tx.touch_project(index.id, file.project, file.project)
            _forget_mirrored(tx, index, file.project)

    def yank(self, who: Identity, index: Index, project: str, version: str, yanked: object) -> None:
        """PEP 592: ``yanked`` is true, a reason string, or false to un-yank.

        Not on a mirror: whether its releases are yanked is an upstream fact, which the next
        page sync would put back (``Transaction.replace_mirror_links``).
        """
        self.authorize(who, index, "yank releases")
        if index.is_mirror:
            raise InvalidInput(
                f"cannot yank releases on mirror index {index.path}: "
                "its releases, and whether they are yanked, come from its upstream"
            )
        value = yank_value(yanked)
        with self._store.transaction(who.user) as tx:
            if tx.set_yanked(index, project, version, value) == 0:
                raise NotFound(f"no release files of {project} {version} on {index.path}")
            tx.touch_project(index.id, project, project)


def _forget_mirrored(tx: Transaction, index: Index, project: str) -> None:
    """A delete on a mirror makes the next request fetch the project's page again. In the
    delete's transaction: a worker that sees the delete's serial also sees the page forgotten."""
    if index.is_mirror:
        tx.forget_mirror_page(index.id, project)


def yank_value(yanked: object) -> str | None:
    """The stored form of a ``yanked`` value: None (not yanked), "" or the reason."""
    if yanked is True:
        return ""
    if yanked is False:
        return None
    if not isinstance(yanked, str):
        raise InvalidInput(f"'yanked' must be true, false or a reason string, not {yanked!r:.40}")
    if len(yanked) > MAX_YANK_REASON:
        raise InvalidInput(f"the 'yanked' reason is longer than {MAX_YANK_REASON} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in yanked):
        raise InvalidInput("the 'yanked' reason must be one line of text")
    return yanked
