"""Words too common to say what a question or a passage is about, in English and Chinese: they match nearly every
passage and drown the ones that matter, so the keyword index neither stores nor searches them.

Kept short on purpose: function words, pronouns, auxiliaries and question words only (a word that can carry the
topic, such as "file" or "文件", never belongs here).
"""

from __future__ import annotations

_ENGLISH = """
a about above after again against all also am an and any are aren't as at be because been before being below
between both but by can can't cannot could did didn't do does doesn't doing don't down during each few for from
further get gets got had has have having he her here hers herself him himself his how i if in into is isn't it
it's its itself just let me more most my myself no nor not now of off on once only or other ought our ours
ourselves out over own same she should so some such than that the their theirs them themselves then there these
they this those through to too under until up use used using very was wasn't way we were what when where which
while who whom why will with would you your yours yourself yourselves tell explain describe mean means happen
happens need needs want say says said give show find much many kind s t
"""

# 的/了/是 and the like; question words (什么, 如何, 怎么, 哪些 ...) and the polite frame of a question (请问, 一下)
_CHINESE = """
的 了 是 在 和 与 及 或 也 都 就 而 并 把 被 让 给 对 从 向 到 于 以 为 之 其 这 那 这个 那个 这些 那些 这样 那样
这里 那里 我 你 您 他 她 它 我们 你们 他们 她们 它们 自己 有 没有 无 不 没 很 还 又 再 更 最 太 会 能 可以 可能 应该 要
需要 想 吗 呢 吧 啊 呀 哦 嗯 么 个 些 种 一 一个 一些 一下 一种 什么 怎么 怎样 怎么样 如何 为什么 为何 哪 哪个 哪些
哪里 哪儿 多少 几 是否 是不是 请 请问 告诉 说明 解释 描述 意思 使用 用 通过 进行 如果 因为 所以 但是 但 虽然 然后
以及 或者 还是 等 等等 中 上 下 里 时 时候 后 前 之后 之前 这是 那是 就是 也是 都是 不是 只是 即是
"""

ENGLISH_STOPWORDS = frozenset(_ENGLISH.split())
CHINESE_STOPWORDS = frozenset(_CHINESE.split())
STOPWORDS = ENGLISH_STOPWORDS | CHINESE_STOPWORDS
