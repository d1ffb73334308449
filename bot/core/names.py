"""Topics and decks as people type them: ``keras``, ``tensorflow/keras``, ``Keras``, ``tensorflow``.

A *scope* is what a quiz, a daily challenge or a leaderboard is limited to, written the
shortest way that is unambiguous: a topic's slug (``keras``), ``deck/slug`` when two decks
share the slug, or a deck's name (all its topics). ``Library.topic_cards`` reads scopes.
"""

from __future__ import annotations

from bot.kb.library import Library


def scope_of(library: Library, deck: str, slug: str | None) -> str:
    """The canonical scope of a deck's topic (or of the whole deck when ``slug`` is None)."""
    if slug is None:
        return deck
    shared = sum(1 for d in library.decks if slug in d.topics) > 1
    return f"{deck}/{slug}" if shared or library.deck(slug) is not None else slug


def resolve_scopes(library: Library, text: str) -> list[str]:
    """Every scope ``text`` may mean, best first: one is a match, several are a question to ask back.

    Exact names win over prefixes: a deck's name or title, a topic's slug or display name,
    ``deck/topic``; any case. Only when nothing matches exactly are prefixes tried.
    """
    wanted = " ".join(text.split()).casefold()
    if not wanted:
        return []
    deck_part, slash, topic_part = wanted.partition("/")
    if slash:
        return [scope_of(library, d.name, slug) for d in library.decks if _is_deck(d.name, d.title, deck_part)
                for slug, name in d.topics.items() if topic_part in (slug, name.casefold())]
    exact = [scope_of(library, d.name, None) for d in library.decks if _is_deck(d.name, d.title, wanted)]
    exact += [scope_of(library, d.name, slug) for d in library.decks for slug, name in d.topics.items()
              if wanted in (slug, name.casefold())]
    if exact:
        return list(dict.fromkeys(exact))
    prefixed = [scope_of(library, d.name, slug) for d in library.decks for slug, name in d.topics.items()
                if slug.startswith(wanted) or name.casefold().startswith(wanted)]
    return list(dict.fromkeys(prefixed))


def _is_deck(name: str, title: str, wanted: str) -> bool:
    return wanted in (name.casefold(), title.casefold())


def scope_label(library: Library, scope: str) -> str:
    """How a scope is shown in a title: the topic's display name, or the deck's title."""
    deck_name, slash, slug = scope.partition("/")
    if slash:
        deck = library.deck(deck_name)
        return f"{deck.topics.get(slug, slug)} ({deck_name})" if deck else scope
    deck = library.deck(scope)
    if deck is not None:
        return deck.title
    return next((d.topics[scope] for d in library.decks if scope in d.topics), scope)


def known_scopes(library: Library) -> list[str]:
    """Every deck and topic scope, decks first, for a message listing what would work."""
    decks = [d.name for d in library.decks]
    topics = [scope_of(library, d.name, slug) for d in library.decks for slug in d.topics]
    return decks + sorted(set(topics))
