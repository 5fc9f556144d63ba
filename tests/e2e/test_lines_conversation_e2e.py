"""
End to end, issue 18 on the terminal: a raw-socket telnet user sends a
three-line message with backslash continuation, finds an id with
/history, replies and reacts; a second raw-socket user and a JSON
WebSocket user (the websockets library) each see all three in their form.
"""

import re

from chatclients import LineClient, WSUser, of


def test_a_telnet_user_sends_lines_a_reply_and_a_reaction(daemon):
    tom = LineClient(daemon.lines_port).login("tom", "#lobby")
    ted = LineClient(daemon.lines_port).login("ted", "#lobby")
    wes = WSUser(daemon.ws_url, "wes", "#lobby")

    # A message over three lines, typed the documented way.
    tom.send_raw(b"lunch at noon?\\\r\nthe usual place\\\r\nmy treat\r\n")
    assert [ted.expect(r"<tom> lunch"), ted.expect("usual"), ted.expect("treat")] == [
        "[#lobby] <tom> lunch at noon?",
        "               the usual place",
        "               my treat",
    ]
    said = wes.expect(of("message", **{"from": "tom"}))
    assert said["text"] == "lunch at noon?\nthe usual place\nmy treat"

    # The telnet user answers the WebSocket user's message: its id, from /history.
    asked = wes.command(type="say", room="#lobby", text="who is coming?")
    tom.send("/history 1")
    tom.expect(r"^\[#lobby\] <wes> who is coming\?$")  # live
    row = tom.expect(r"\(\d+\) <wes> who is coming\?$")  # in /history, with its id
    id = int(re.fullmatch(r"\[#lobby\] \d\d:\d\d \((\d+)\) <wes> who is coming\?", row).group(1))
    assert id == asked["id"]
    tom.send(f"/reply {id} me,\\")
    tom.send("if there is cake")
    assert ted.expect(r"<tom> ↪") == "[#lobby] <tom> ↪ wes: who is coming?"
    assert ted.expect("me,") == "               me,"
    assert ted.expect("cake") == "               if there is cake"
    reply = wes.expect(of("message", reply_to=id, **{"from": "tom"}))
    assert reply["reply"] == {"nick": "wes", "text": "who is coming?"}
    assert reply["text"] == "me,\nif there is cake"

    # And reacts to it.
    tom.send(f"/react {id} 👍")
    assert ted.expect("reacted") == f"[#lobby] -!- tom reacted 👍 to message {id}"
    assert tom.expect("reacted") == f"[#lobby] -!- tom reacted 👍 to message {id}"
    react = wes.expect(of("react", nick="tom"))
    assert (react["room"], react["message"], react["reaction"]) == ("#lobby", id, "👍")

    # The WebSocket user's own reply and reaction, as the terminals see them.
    wes.command(type="say", room="#lobby", text="noted", reply_to=said["id"])
    assert ted.expect(r"<wes> ↪") == "[#lobby] <wes> ↪ tom: lunch at noon? …"
    assert ted.expect("noted") == "               noted"
    wes.command(type="react", room="#lobby", id=said["id"], reaction="🎉")
    assert tom.expect("reacted 🎉") == f"[#lobby] -!- wes reacted 🎉 to message {said['id']}"
    for client in (tom, ted, wes):
        client.close()
