"""Safe templates: rendering, missing variables, the sandbox, and the limits on output and work."""

import pytest

from mono.kernel.templating import (
    MAX_OUTPUT_CHARS,
    TemplateError,
    check,
    render,
    render_html,
    render_value,
)

VARIABLES = {
    "input": {"name": "Ada", "amount": 12.5, "items": ["pen", "ink"], "email": "ada@example.com"},
    "steps": {"approve": {"decision": "approved"}},
}


def test_a_template_renders_its_variables():
    assert render("Hi {{ input.name }}, {{ steps.approve.decision }}", VARIABLES) == "Hi Ada, approved"


def test_text_without_template_syntax_is_returned_as_is():
    assert render("plain text: 100% sure", VARIABLES) == "plain text: 100% sure"


def test_loops_conditions_and_filters_work():
    template = "{% for item in input['items'] %}{{ item|upper }}{% if not loop.last %}, {% endif %}{% endfor %}"
    assert render(template, VARIABLES) == "PEN, INK"


def test_a_mapping_key_wins_over_a_dict_method_of_the_same_name():
    assert render("{{ input.items|join(' & ') }}", VARIABLES) == "pen & ink"


def test_tojson_renders_a_value_as_json():
    assert render("{{ input.items|tojson }}", VARIABLES) == '["pen", "ink"]'


def test_a_missing_variable_names_it():
    with pytest.raises(TemplateError, match="undefined variable: 'customer' is undefined"):
        render("Dear {{ customer }}", VARIABLES)


def test_a_missing_key_names_it():
    with pytest.raises(TemplateError, match="no attribute 'phone'"):
        render("Call {{ input.phone }}", VARIABLES)


def test_plain_text_is_not_escaped():
    assert render("{{ input.name }} <b>{{ '<i>' }}</b>", VARIABLES) == "Ada <b><i></b>"


def test_the_html_variant_escapes_variables_but_not_the_template():
    assert render_html("<p>{{ '<script>' }} {{ input.name }}</p>", VARIABLES) == "<p>&lt;script&gt; Ada</p>"


def test_rendering_is_the_same_every_time():
    template = "{% for k, v in input|dictsort %}{{ k }}={{ v }};{% endfor %}"
    assert render(template, VARIABLES) == render(template, VARIABLES)


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ cycler.__init__.__globals__.os }}",
        "{{ namespace.__init__.__globals__ }}",
        "{{ self._TemplateReference__context }}",
        "{{ input.__class__ }}",
        "{{ '{0.__class__}'.format(input) }}",
        "{{ 'x'.ljust(10) }}",
        "{{ (1).to_bytes(8, 'big') }}",
        "{{ '%s' % input.name }}",
        "{{ input['items'].append('x') }}",
    ],
)
def test_sandbox_escapes_and_unsafe_calls_are_refused(template):
    with pytest.raises(TemplateError, match="not allowed"):
        render(template, VARIABLES)


@pytest.mark.parametrize("name", ["random", "format", "center", "wordwrap", "batch", "slice", "indent"])
def test_filters_that_are_nondeterministic_or_unbounded_do_not_exist(name):
    assert check(f"{{{{ input.items|{name}(3) }}}}") == f"line 1: No filter named '{name}'."


def test_lipsum_is_not_available():
    with pytest.raises(TemplateError, match="'lipsum' is undefined"):
        render("{{ lipsum() }}", VARIABLES)


def test_including_another_template_is_refused_at_compile_time():
    assert "cannot extend, include or import" in check("{% include 'secrets.txt' %}")


def test_output_over_the_limit_is_refused():
    with pytest.raises(TemplateError, match=f"output is longer than {MAX_OUTPUT_CHARS}"):
        render("{% for i in range(5000) %}{{ 'x' * 50 }}{% endfor %}", VARIABLES)


def test_range_over_a_huge_size_is_refused():
    with pytest.raises(TemplateError, match="range"):
        render("{% for i in range(10**9) %}{% endfor %}", VARIABLES)


def test_nested_loops_stop_when_the_step_budget_runs_out():
    with pytest.raises(TemplateError, match="steps to render"):
        render("{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}", VARIABLES)


def test_doubling_a_string_in_a_namespace_is_stopped():
    template = "{% set ns = namespace(s='ab') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"
    with pytest.raises(TemplateError, match="larger than"):
        render(template, VARIABLES)


def test_doubling_nested_lists_is_stopped():
    template = "{% set ns = namespace(l=[1]) %}{% for i in range(64) %}{% set ns.l = [ns.l, ns.l] %}{% endfor %}"
    with pytest.raises(TemplateError, match=r"larger than|steps"):
        render(template, VARIABLES)


def test_doubling_through_a_set_block_is_stopped():
    template = (
        "{% set ns = namespace(s='ab') %}"
        "{% for i in range(64) %}{% set ns.s %}{{ ns.s }}{{ ns.s }}{% endset %}{% endfor %}"
    )
    with pytest.raises(TemplateError, match="produced more than"):
        render(template, VARIABLES)


def test_recursive_macros_are_stopped():
    with pytest.raises(TemplateError, match="too deep"):
        render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", VARIABLES)


def test_a_huge_repetition_is_refused_before_it_is_built():
    with pytest.raises(TemplateError, match="repetition"):
        render("{{ 'x' * 10**9 }}", VARIABLES)


def test_a_huge_power_is_refused_before_it_is_computed():
    with pytest.raises(TemplateError, match="bits"):
        render("{{ 10 ** 100000 }}", VARIABLES)


def test_a_replace_that_would_explode_is_refused():
    with pytest.raises(TemplateError, match="replace"):
        render("{{ ('a' * 1000)|replace('a', 'b' * 2000) }}", VARIABLES)


def test_a_runtime_error_in_a_template_is_a_template_error():
    with pytest.raises(TemplateError, match="ZeroDivisionError"):
        render("{{ 1 / 0 }}", VARIABLES)


def test_check_returns_none_for_a_valid_template():
    assert check("Hello {{ input.name }}") is None


def test_check_returns_the_line_and_reason_for_an_invalid_template():
    assert check("line one\n{% if %}") == "line 2: Expected an expression, got 'end of statement block'"


def test_check_refuses_a_value_that_is_not_text():
    assert check(42) == "a template must be a string"


def test_a_deeply_nested_template_is_a_compile_error_not_a_crash():
    assert check("{{ " + "(" * 3000 + "1" + ")" * 3000 + " }}") == "the template is nested too deeply"


def test_render_value_renders_strings_inside_nested_objects():
    value = {"to": "{{ input.email }}", "lines": [{"sku": "{{ input['items'][0] }}", "qty": 2}], "paid": True}
    assert render_value(value, VARIABLES) == {
        "to": "ada@example.com",
        "lines": [{"sku": "pen", "qty": 2}],
        "paid": True,
    }


def test_render_value_leaves_keys_alone():
    assert render_value({"{{ input.name }}": "x"}, VARIABLES) == {"{{ input.name }}": "x"}
