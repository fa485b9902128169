// Package budgeting is the area of participatory ("civic") budgets,
// სამოქალაქო ბიუჯეტი: a municipality's yearly cycle in which residents
// propose ideas, the municipality reviews them, residents vote, and the
// winners are drawn from the ballots by the cycle's counting method and
// then delivered.
//
// Counting (Count) is a pure function of the projects on the ballot, the
// money and the ballots, under a method recorded with the cycle (Counting),
// so that anyone holding the events can recount a cycle and get the same
// winners. It is checked against real published outcomes: Warsaw's,
// Wrocław's and Katowice's greedy counts, and Wieliczka's 2023 Green
// Million, the first budget decided by the Method of Equal Shares
// (testdata/pabulib, from pabulib.org).
package budgeting
