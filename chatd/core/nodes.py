# -*- test-case-name: tests.core.test_cluster -*-
"""
The other nodes of a cluster, as the core reaches them: by directive
(L{chatd.core.directives}).  One process alone is a L{LoneNode}: there is
nobody to tell.
"""

from zope.interface import Attribute, Interface, implementer


class INodes(Interface):
    """Carries directives from this node to the others."""

    name = Attribute("This node's name, unique in the cluster ([cluster] node).")
    shared = Attribute(
        "Whether other nodes share the rooms: then room state that changes "
        "elsewhere is read again from the store, and a node stopping says "
        "goodbye for its users."
    )

    def tell(node, directive):
        """
        Send C{directive} to node C{node}, or to every other node if
        C{node} is None.  Fire and forget: a node that is gone does not
        answer, and the janitor clears up after it.
        """


@implementer(INodes)
class LoneNode:
    """A node with no others."""

    shared = False

    def __init__(self, name: str = "chatd") -> None:
        self.name = name

    def tell(self, node, directive) -> None:
        """Nobody else to tell."""
