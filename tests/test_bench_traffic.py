"""The traffic benchmark tells what each message a training page receives carries, from the message's bytes."""

import json

from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from bench.traffic import kind


def chart_message(data: dict, component: str = "twolayer.live_chart") -> bytes:
    """A ForwardMsg placing an element of `component` whose data is `data`, as the server sends it."""
    message = ForwardMsg()
    message.delta.new_element.bidi_component.component_name = component
    message.delta.new_element.bidi_component.json = json.dumps(data)
    return message.SerializeToString()


def test_a_live_chart_is_told_by_its_name_even_when_its_code_comes_first():
    # The first host carries live_chart.js, whose text holds `"name": "` of its own before the chart's name.
    host = chart_message({"code": 'const x = {"name": "other"};', "name": "loss", "host": True})
    assert kind(host) == "live loss chart"
    feed = chart_message({"name": "w1 over time", "stream": "ab12", "seq": 3}, "twolayer.live_feed")
    assert kind(feed) == "live chart w1 over time"
    assert kind(chart_message({"value": 1}, "twolayer.draw_pad")) == "component twolayer.draw_pad"


def test_the_status_line_and_other_messages_are_told_apart():
    status = ForwardMsg()
    status.delta.new_element.markdown.body = "**Running** · epoch 120 of 20,000"
    assert kind(status.SerializeToString()) == "status line"
    other = ForwardMsg()
    other.delta.new_element.markdown.body = "Some text"
    assert kind(other.SerializeToString()) == "markdown"
    finished = ForwardMsg()
    finished.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    assert kind(finished.SerializeToString()) == "script_finished"
