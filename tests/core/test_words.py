from orgdash.core.templatetags.words import with_article


def test_with_article():
    assert [with_article(word) for word in ("admin", "member", "viewer", "")] == [
        "an admin",
        "a member",
        "a viewer",
        "",
    ]
