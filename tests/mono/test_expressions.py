"""CEL conditions for Decision nodes: compile-time checks, evaluation, errors and limits."""

import pytest

from mono.kernel.expressions import (
    MAX_EXPRESSION_CHARS,
    ExpressionError,
    check_condition,
    compile_condition,
    run_context,
)

CONTEXT = run_context(
    {"amount": 150.5, "count": 3, "customer": {"tier": "gold"}, "tags": ["new", "vip"], "email": "ada@example.com"},
    {"approve": {"decision": "approved", "votes": 2}, "score": {"value": 7}},
)


def evaluate(text: str, context: dict | None = None) -> bool:
    return compile_condition(text).evaluate(CONTEXT if context is None else context)


def test_a_true_condition_evaluates_to_true():
    assert evaluate("input.amount > 100") is True


def test_a_false_condition_evaluates_to_false():
    assert evaluate("input.customer.tier == 'silver'") is False


def test_ints_and_doubles_compare_with_each_other():
    assert evaluate("input.amount > 100 && input.count == 3.0 && input.count < 3.5")


def test_step_results_are_available_under_steps():
    assert evaluate("steps.approve.decision == 'approved' && steps.score.value >= 7")


def test_variables_merges_input_and_step_results():
    assert evaluate("variables.amount == 150.5 && variables.decision == 'approved' && variables.value == 7")


def test_a_later_step_result_wins_in_variables():
    context = run_context({"status": "new"}, {"a": {"status": "checked"}, "b": {"status": "shipped"}})
    assert evaluate("variables.status == 'shipped' && input.status == 'new'", context)


def test_macros_and_string_functions_work():
    assert evaluate("input.tags.exists(t, t == 'vip') && input.email.endsWith('@example.com') && size(input.tags) == 2")


def test_has_tests_for_an_optional_key_without_failing():
    assert evaluate("!has(input.coupon) || input.coupon == ''")


def test_map_iteration_follows_insertion_order_so_replays_agree():
    context = run_context({"m": {"zeta": 1, "alpha": 2, "mid": 3}}, {})
    assert evaluate("input.m.map(k, k) == ['zeta', 'alpha', 'mid']", context)


def test_a_syntax_error_names_the_position():
    with pytest.raises(ExpressionError, match=r"syntax error at line 1, column 14"):
        compile_condition("input.amount >")


def test_an_unknown_root_name_is_refused_at_compile_time():
    with pytest.raises(ExpressionError, match="unknown name 'amount'"):
        compile_condition("amount > 100")


def test_an_unknown_function_is_refused_at_compile_time():
    with pytest.raises(ExpressionError, match=r"unknown function now\(\)"):
        compile_condition("now() > input.deadline")


def test_an_unknown_method_is_refused_at_compile_time():
    with pytest.raises(ExpressionError, match=r"unknown function shout\(\)"):
        compile_condition("input.email.shout() == 'X'")


def test_a_missing_key_names_the_path_that_does_not_exist():
    with pytest.raises(ExpressionError, match=r"steps\.approve\.comment does not exist"):
        evaluate("steps.approve.comment == 'ok'")


def test_a_missing_step_names_the_step():
    with pytest.raises(ExpressionError, match=r"steps\.review does not exist"):
        evaluate("steps.review.decision == 'approved'")


def test_a_result_that_is_not_a_bool_is_an_error():
    with pytest.raises(ExpressionError, match="must be true or false, not double"):
        evaluate("input.amount")


def test_division_by_zero_is_an_expression_error():
    with pytest.raises(ExpressionError, match="divide by zero"):
        evaluate("input.count / 0 == 1")


def test_an_expression_over_the_length_limit_is_refused():
    with pytest.raises(ExpressionError, match=f"longer than {MAX_EXPRESSION_CHARS}"):
        compile_condition("true || " * 300 + "true")


def test_a_deeply_nested_expression_is_refused_at_compile_time():
    with pytest.raises(ExpressionError, match="nests too deeply"):
        compile_condition("(" * 30 + "true" + ")" * 30)


def test_evaluation_stops_when_it_runs_out_of_steps():
    context = run_context({"items": list(range(1000))}, {})
    with pytest.raises(ExpressionError, match="steps to evaluate"):
        evaluate("input.items.map(a, input.items.map(b, a * b)).size() > 0", context)


def test_running_out_of_steps_is_not_hidden_by_a_short_circuit():
    context = run_context({"items": list(range(1000))}, {})
    with pytest.raises(ExpressionError, match="steps to evaluate"):
        evaluate("input.items.map(a, input.items.map(b, a * b)).size() > 0 || true", context)


def test_variables_too_large_to_evaluate_over_are_refused():
    context = run_context({"items": list(range(60_000))}, {})
    with pytest.raises(ExpressionError, match="too large"):
        evaluate("size(input.items) > 0", context)


def test_a_variable_that_is_not_json_like_is_refused():
    with pytest.raises(ExpressionError, match="set"):
        evaluate("size(input.ids) > 0", {"input": {"ids": {1, 2}}, "steps": {}, "variables": {}})


def test_an_empty_condition_is_refused():
    with pytest.raises(ExpressionError, match="empty"):
        compile_condition("   ")


def test_check_condition_returns_none_for_a_valid_condition():
    assert check_condition("input.amount > 1") is None


def test_check_condition_returns_the_reason_for_an_invalid_one():
    assert check_condition("input.amount >").startswith("syntax error")


def test_check_condition_refuses_a_value_that_is_not_text():
    assert check_condition({"op": "gt"}) == "the condition must be text"


def test_a_compiled_condition_is_reused_for_the_same_text():
    assert compile_condition("input.count == 3") is compile_condition("input.count == 3")
